; loop_bounded_ok: accepted program
; rule: loop
; type: xdp
; verdict: accept
r1 = 0
r0 = 0
loop:
r0 += r1
r1 += 1
if r1 < 100 goto loop
exit
