; helper_unknown_bad: rejected program
; rule: helper_known
; type: xdp
; verdict: reject
; error: no such helper
call 99999
r0 = 0
exit
