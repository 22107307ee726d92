; call_return_stack_bad: rejected program
; rule: call_stack_pointer
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
