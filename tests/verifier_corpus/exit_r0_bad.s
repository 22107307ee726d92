; exit_r0_bad: rejected program
; type: xdp
; verdict: reject
; error: r0 is read before any value was written
exit
