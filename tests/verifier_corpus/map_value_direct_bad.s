; map_value_direct_bad: rejected program
; rule: map_value_direct
; type: xdp
; map: vals array 4 16 4
; verdict: reject
; error: only single-entry array maps
r1 = map_value(vals)+4
r0 = *(u32 *)(r1 + 0)
exit
