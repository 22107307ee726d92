; call_ok: accepted program
; rule: call_clobber
; type: xdp
; verdict: accept
r1 = 3
call f
exit
f:
r0 = r1
r0 += 1
exit
