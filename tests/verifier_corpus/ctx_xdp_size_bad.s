; ctx_xdp_size_bad: rejected program
; rule: ctx_xdp
; type: xdp
; verdict: reject
; error: whole 32-bit words
r0 = *(u64 *)(r1 + 0)
r0 = 0
exit
