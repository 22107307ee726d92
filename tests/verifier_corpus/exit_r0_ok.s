; exit_r0_ok: accepted program
; rule: exit_r0
; type: xdp
; verdict: accept
r0 = 2
exit
