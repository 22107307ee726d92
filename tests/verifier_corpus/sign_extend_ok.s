; sign_extend_ok: accepted program
; rule: sign_extend
; type: xdp
; map: vals array 4 16 4
; verdict: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(vals)
call bpf_map_lookup_elem

r6 = r0
r1 = *(s8 *)(r6 + 0)
r1 &= 15
r6 += r1
r0 = *(u8 *)(r6 + 0)
exit
