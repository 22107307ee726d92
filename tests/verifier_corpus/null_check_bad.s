; null_check_bad: rejected program
; rule: null_check
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: may be null here: check the result of bpf_map_lookup_elem
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit
