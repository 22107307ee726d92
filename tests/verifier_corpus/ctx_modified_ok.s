; ctx_modified_ok: accepted program
; rule: ctx_modified
; type: xdp
; verdict: accept
r0 = *(u32 *)(r1 + 4)
r0 = 0
exit
