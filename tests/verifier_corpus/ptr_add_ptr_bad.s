; ptr_add_ptr_bad: rejected program
; rule: ptr_arith
; type: xdp
; verdict: reject
; error: arithmetic between two pointers
r2 = r10
r2 += r1
r0 = 0
exit
