; scalar_deref_bad: rejected program
; rule: scalar_deref
; type: xdp
; verdict: reject
; error: is a number
r2 = 4096
r0 = *(u64 *)(r2 + 0)
exit
