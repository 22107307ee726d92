; shift_bad: rejected program
; type: xdp
; verdict: reject
; error: out of range
r0 = 1
r0 <<= 64
exit
