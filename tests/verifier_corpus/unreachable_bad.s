; unreachable_bad: rejected program
; rule: unreachable
; type: xdp
; verdict: reject
; error: unreachable
r0 = 0
exit
r0 = 1
exit
