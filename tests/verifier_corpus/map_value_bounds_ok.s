; map_value_bounds_ok: accepted program
; rule: map_value_bounds
; type: xdp
; map: counts hash 4 8 16
; verdict: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
if r0 == 0 goto out
r1 = *(u64 *)(r0 + 0)
out:
r0 = 0
exit
