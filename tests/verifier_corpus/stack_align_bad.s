; stack_align_bad: rejected program
; rule: stack_align
; type: xdp
; verdict: reject
; error: misaligned stack access
r1 = 0
*(u32 *)(r10 - 6) = r1
r0 = 0
exit
