; jump_lddw_bad: rejected program
; rule: jump_lddw
; type: xdp
; verdict: reject
; error: middle of the 64-bit load
r0 = 0
if r1 == 0 goto +1
r0 = 0x100000000 ll
exit
