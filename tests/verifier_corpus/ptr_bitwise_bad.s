; ptr_bitwise_bad: rejected program
; rule: ptr_arith
; type: xdp
; verdict: reject
; error: the & operator on a pointer
r1 &= 4
r0 = 0
exit
