; exit_r0_ok: accepted program
; type: xdp
; verdict: accept
r0 = 2
exit
