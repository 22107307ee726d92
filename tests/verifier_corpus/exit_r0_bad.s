; exit_r0_bad: rejected program
; rule: exit_r0
; type: xdp
; verdict: reject
; error: r0 is read before any value was written
exit
