; uninit_reg_bad: rejected program
; rule: uninit_reg
; type: xdp
; verdict: reject
; error: r2 is read before any value
r0 = r2
exit
