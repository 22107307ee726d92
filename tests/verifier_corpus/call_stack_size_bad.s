; call_stack_size_bad: rejected program
; rule: call_stack_size
; type: xdp
; verdict: reject
; error: at most 512 are allowed
r1 = 0
*(u64 *)(r10 - 512) = r1
call f
r0 = 0
exit
f:
r1 = 0
*(u64 *)(r10 - 16) = r1
r0 = 0
exit
