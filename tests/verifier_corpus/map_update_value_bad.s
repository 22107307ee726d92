; map_update_value_bad: rejected program
; rule: map_helper_args
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: uninitialized
; kernel: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u32 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
r1 = map_fd(counts)
call bpf_map_update_elem
r0 = 0
exit
