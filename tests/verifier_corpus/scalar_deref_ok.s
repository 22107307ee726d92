; scalar_deref_ok: accepted program
; rule: scalar_deref
; type: xdp
; verdict: accept
r2 = r10
r2 += -8
r3 = 1
*(u64 *)(r2 + 0) = r3
r0 = *(u64 *)(r2 + 0)
exit
