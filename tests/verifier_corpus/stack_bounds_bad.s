; stack_bounds_bad: rejected program
; rule: stack_bounds
; type: xdp
; verdict: reject
; error: outside the 512-byte stack frame
r1 = 0
*(u64 *)(r10 - 520) = r1
r0 = 0
exit
