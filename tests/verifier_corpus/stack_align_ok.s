; stack_align_ok: accepted program
; rule: stack_align
; type: xdp
; verdict: accept
r1 = 0
*(u32 *)(r10 - 8) = r1
r0 = 0
exit
