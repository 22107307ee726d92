; atomic_cmpxchg_bad: rejected program
; rule: atomic
; type: xdp
; verdict: reject
; error: r0 is read before
r1 = 5
*(u64 *)(r10 - 8) = r1
r2 = 3
r0 = cmpxchg_64(r10 - 8, r0, r2)
exit
