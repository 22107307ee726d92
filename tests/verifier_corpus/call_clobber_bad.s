; call_clobber_bad: rejected program
; rule: call_clobber
; type: xdp
; verdict: reject
; error: r1 is read before
r1 = 3
call f
r0 = r1
exit
f:
r0 = 0
exit
