; ld_abs_ok: accepted program
; rule: ld_abs
; type: socket
; verdict: accept
r6 = r1
r0 = *(u8 *)skb[12]
exit
