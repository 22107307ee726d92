; ctx_xdp_read_ok: accepted program
; rule: ctx_xdp
; type: xdp
; verdict: accept
r0 = *(u32 *)(r1 + 12)
exit
