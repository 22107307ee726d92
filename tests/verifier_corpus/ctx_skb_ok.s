; ctx_skb_ok: accepted program
; rule: ctx_skb
; type: socket
; verdict: accept
r0 = *(u32 *)(r1 + 0)
r2 = 3
*(u32 *)(r1 + 48) = r2
exit
