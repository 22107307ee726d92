; atomic_fetch_bad: rejected program
; rule: atomic
; type: xdp
; verdict: reject
; error: uninitialized
; kernel: accept
r2 = 3
r2 = atomic_fetch_add((u64 *)(r10 - 8), r2)
r0 = r2
exit
