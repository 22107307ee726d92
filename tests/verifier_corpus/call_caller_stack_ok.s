; call_caller_stack_ok: accepted program
; rule: call_stack_pointer
; type: xdp
; verdict: accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
call f
exit
f:
r0 = *(u64 *)(r1 + 0)
exit
