; ctx_st_imm_bad: rejected program
; type: socket
; verdict: reject
; error: storing an immediate into the context
*(u32 *)(r1 + 48) = 3
r0 = 0
exit
