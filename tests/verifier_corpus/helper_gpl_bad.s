; helper_gpl_bad: rejected program
; rule: helper_gpl
; type: xdp
; verdict: reject
; error: GPL-only
; license: MIT
r1 = r10
r1 += -8
r2 = 0
*(u64 *)(r10 - 8) = r2
r2 = 8
r3 = 1
r4 = 2
r5 = 3
call bpf_trace_printk
r0 = 0
exit
