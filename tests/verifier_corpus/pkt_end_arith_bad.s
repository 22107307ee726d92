; pkt_end_arith_bad: rejected program
; rule: pkt_bounds
; type: xdp
; verdict: reject
; error: arithmetic on pkt_end
r3 = *(u32 *)(r1 + 4)
r3 += 4
r0 = 0
exit
