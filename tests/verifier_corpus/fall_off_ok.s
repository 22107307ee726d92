; fall_off_ok: accepted program
; rule: fall_off
; type: xdp
; verdict: accept
r0 = 0
if r1 == 0 goto +1
r0 = 1
exit
