; atomic_ctx_bad: rejected program
; rule: atomic
; type: xdp
; verdict: reject
; error: atomic operations work only on stack and map values
r2 = 1
lock *(u32 *)(r1 + 0) += r2
r0 = 0
exit
