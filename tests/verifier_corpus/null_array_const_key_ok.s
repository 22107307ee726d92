; null_array_const_key_ok: accepted program
; rule: null_check
; type: xdp
; map: vals array 4 16 4
; verdict: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(vals)
call bpf_map_lookup_elem
r1 = *(u64 *)(r0 + 8)
r0 = 0
exit
