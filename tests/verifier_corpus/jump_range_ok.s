; jump_range_ok: accepted program
; type: xdp
; verdict: accept
r0 = 0
goto +1
r0 = 1
exit
