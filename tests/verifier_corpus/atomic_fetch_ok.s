; atomic_fetch_ok: accepted program
; rule: atomic
; type: xdp
; verdict: accept
r1 = 5
*(u64 *)(r10 - 8) = r1
r2 = 3
r2 = atomic_fetch_add((u64 *)(r10 - 8), r2)
r0 = r2
exit
