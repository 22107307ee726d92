; fall_off_bad: rejected program
; rule: fall_off
; type: xdp
; verdict: reject
; error: fall off its end
r0 = 0
if r1 == 0 goto +1
exit
r0 = 1
