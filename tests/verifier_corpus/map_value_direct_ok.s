; map_value_direct_ok: accepted program
; type: xdp
; map: vals array 4 16 4
; verdict: accept
r1 = map_value(vals)+4
r0 = *(u32 *)(r1 + 0)
exit
