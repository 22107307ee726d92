; call_return_stack_bad: rejected program
; type: xdp
; verdict: reject
; error: own stack
call f
r0 = 0
exit
f:
r0 = r10
r0 += -8
exit
