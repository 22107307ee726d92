; ld_abs_bad: rejected program
; rule: ld_abs
; type: xdp
; verdict: reject
; error: not allowed for this program type
r6 = r1
r0 = *(u8 *)skb[12]
exit
