; shift_ok: accepted program
; rule: shift
; type: xdp
; verdict: accept
r0 = 1
r0 <<= 63
exit
