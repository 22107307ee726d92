; stack_bounds_ok: accepted program
; rule: stack_bounds
; type: xdp
; verdict: accept
r1 = 0
*(u64 *)(r10 - 512) = r1
r0 = 0
exit
