; ctx_xdp_write_bad: rejected program
; type: xdp
; verdict: reject
; error: struct xdp_md is read-only
r2 = 1
*(u32 *)(r1 + 12) = r2
r0 = 0
exit
