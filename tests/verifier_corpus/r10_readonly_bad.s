; r10_readonly_bad: rejected program
; rule: r10_readonly
; type: xdp
; verdict: reject
; error: r10 is the read-only frame pointer
r10 += -8
r0 = 0
exit
