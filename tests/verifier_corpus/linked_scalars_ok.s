; linked_scalars_ok: accepted program
; rule: linked_scalars
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
call bpf_get_prandom_u32
r1 = r0
r2 = r1
if r2 > 8 goto out
r6 += r1
r3 = *(u64 *)(r6 + 0)
out:
r0 = 0
exit
