; ctx_modified_ok: accepted program
; type: xdp
; verdict: accept
r0 = *(u32 *)(r1 + 4)
r0 = 0
exit
