; unreachable_ok: accepted program
; rule: unreachable
; type: xdp
; verdict: accept
r0 = 0
if r1 == 0 goto +1
r0 = 1
exit
