; jump_range_ok: accepted program
; rule: jump_range
; type: xdp
; verdict: accept
if r1 == 0 goto +2
r0 = 1
goto +1
r0 = 0
exit
