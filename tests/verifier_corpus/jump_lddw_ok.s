; jump_lddw_ok: accepted program
; rule: jump_lddw
; type: xdp
; verdict: accept
r0 = 0
if r1 == 0 goto +2
r0 = 0x100000000 ll
exit
