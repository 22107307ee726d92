; call_recursive_bad: rejected program
; rule: call_depth
; type: xdp
; verdict: reject
; error: too deep
call f
r0 = 0
exit
f:
call f
r0 = 0
exit
