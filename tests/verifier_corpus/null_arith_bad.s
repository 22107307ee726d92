; null_arith_bad: rejected program
; rule: null_check
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: may be null
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
r0 += 4
r0 = 0
exit
