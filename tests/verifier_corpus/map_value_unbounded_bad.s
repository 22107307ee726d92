; map_value_unbounded_bad: rejected program
; rule: map_value_var
; type: xdp
; map: vals array 4 16 4
; verdict: reject
; error: has no lower bound
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(vals)
call bpf_map_lookup_elem
r1 = *(u64 *)(r0 + 0)
r0 += r1
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit
