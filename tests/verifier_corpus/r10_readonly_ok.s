; r10_readonly_ok: accepted program
; rule: r10_readonly
; type: xdp
; verdict: accept
r1 = r10
r1 += -8
r0 = 0
exit
