; ptr_32bit_bad: rejected program
; rule: ptr_arith
; type: xdp
; verdict: reject
; error: 32-bit arithmetic on a pointer
w1 += 4
r0 = 0
exit
