; call_spill_stack_ptr_bad: rejected program
; rule: call_stack_pointer
; type: xdp
; verdict: reject
; error: called function's stack
r1 = r10
r1 += -8
call f
r0 = 0
exit
f:
r2 = r10
r2 += -8
*(u64 *)(r1 + 0) = r2
r0 = 0
exit
