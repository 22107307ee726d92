; div_imm_zero_bad: rejected program
; rule: division
; type: xdp
; verdict: reject
; error: division by the constant zero
r0 = 100
r0 /= 0
exit
