; ringbuf_output_ok: accepted program
; rule: helper_output
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
r3 = 8
r4 = 0
r1 = map_fd(events)
call bpf_ringbuf_output
r0 = 0
exit
