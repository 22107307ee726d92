; loop_unbounded_bad: rejected program
; rule: loop
; type: xdp
; verdict: reject
; error: too complex
; budget: 20000
call bpf_get_prandom_u32
r1 = r0
r0 = 0
loop:
r0 += 1
if r0 != r1 goto loop
r0 = 0
exit
