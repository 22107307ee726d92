; loop_infinite_bad: rejected program
; rule: loop
; type: xdp
; verdict: reject
; error: infinite loop
r0 = 0
loop:
r1 = 5
if r0 == 0 goto loop
exit
