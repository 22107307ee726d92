; ctx_xdp_write_bad: rejected program
; rule: ctx_xdp
; type: xdp
; verdict: reject
; error: struct xdp_md is read-only
r2 = 1
*(u32 *)(r1 + 12) = r2
r0 = 0
exit
