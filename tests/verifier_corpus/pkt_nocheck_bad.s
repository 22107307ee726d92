; pkt_nocheck_bad: rejected program
; rule: pkt_bounds
; type: xdp
; verdict: reject
; error: outside the 0 bytes proven in bounds
r2 = *(u32 *)(r1 + 0)
r0 = *(u8 *)(r2 + 0)
exit
