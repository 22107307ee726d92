; ptr_map_arith_bad: rejected program
; rule: ptr_arith
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: arithmetic on a map pointer
r1 = map_fd(counts)
r1 += 8
r0 = 0
exit
