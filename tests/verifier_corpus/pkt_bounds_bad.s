; pkt_bounds_bad: rejected program
; rule: pkt_bounds
; type: xdp
; verdict: reject
; error: outside the 14 bytes proven in bounds
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto out
r0 = *(u8 *)(r2 + 14)
exit
out:
r0 = 2
exit
