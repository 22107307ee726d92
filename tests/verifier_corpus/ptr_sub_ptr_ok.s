; ptr_sub_ptr_ok: accepted program
; rule: ptr_arith
; type: xdp
; verdict: accept
r2 = r10
r2 -= r1
r0 = 0
exit
