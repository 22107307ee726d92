; jump_range_bad: rejected program
; rule: jump_range
; type: xdp
; verdict: reject
; error: outside the program
r0 = 0
goto +5
exit
