; call_callee_saved_ok: accepted program
; rule: call_clobber
; type: xdp
; verdict: accept
r6 = 3
call f
r0 = r6
exit
f:
r0 = 0
exit
