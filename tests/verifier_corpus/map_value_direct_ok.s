; map_value_direct_ok: accepted program
; rule: map_value_direct
; type: xdp
; map: cfg array 4 16 1
; verdict: accept
r1 = map_value(cfg)+4
r0 = *(u32 *)(r1 + 0)
exit
