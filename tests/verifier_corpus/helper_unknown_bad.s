; helper_unknown_bad: rejected program
; type: xdp
; verdict: reject
; error: no such helper
call 99999
r0 = 0
exit
