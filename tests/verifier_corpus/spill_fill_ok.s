; spill_fill_ok: accepted program
; rule: spill_fill
; type: xdp
; verdict: accept
*(u64 *)(r10 - 8) = r1
r1 = 0
r6 = *(u64 *)(r10 - 8)
r0 = *(u32 *)(r6 + 0)
r0 = 0
exit
