; ctx_skb_bad: rejected program
; rule: ctx_skb
; type: socket
; verdict: reject
; error: cannot access packet data
r0 = *(u32 *)(r1 + 76)
r0 = 0
exit
