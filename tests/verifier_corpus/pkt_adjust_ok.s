; pkt_adjust_ok: accepted program
; rule: pkt_bounds
; type: xdp
; verdict: accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto out
r0 = *(u8 *)(r2 + 0)
out:
r2 = 0
call bpf_xdp_adjust_head
r0 = 2
exit
