; spill_fill_bad: rejected program
; rule: spill_fill
; type: xdp
; verdict: reject
; error: holds a spilled pointer
*(u64 *)(r10 - 8) = r1
r0 = *(u32 *)(r10 - 8)
r0 = 0
exit
