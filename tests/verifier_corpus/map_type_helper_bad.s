; map_type_helper_bad: rejected program
; rule: map_helper_args
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: cannot be passed to bpf_ringbuf_output
r1 = map_fd(counts)
r2 = r10
r2 += -8
r3 = 0
*(u64 *)(r10 - 8) = r3
r3 = 8
r4 = 0
call bpf_ringbuf_output
r0 = 0
exit
