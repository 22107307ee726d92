; r10_readonly_ok: accepted program
; type: xdp
; verdict: accept
r1 = r10
r1 += -8
r0 = 0
exit
