; shift_bad: rejected program
; rule: shift
; type: xdp
; verdict: reject
; error: out of range
r0 = 1
r0 <<= 64
exit
