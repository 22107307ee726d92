; ctx_st_imm_ok: accepted program
; rule: ctx_skb_write
; type: socket
; verdict: accept
*(u32 *)(r1 + 48) = 3
r0 = 0
exit
