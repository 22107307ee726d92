; ctx_skb_readonly_bad: rejected program
; rule: ctx_skb_write
; type: socket
; verdict: reject
; error: read-only
r2 = 3
*(u32 *)(r1 + 0) = r2
r0 = 0
exit
