; uninit_reg_ok: accepted program
; rule: uninit_reg
; type: xdp
; verdict: accept
r2 = 1
r0 = r2
exit
