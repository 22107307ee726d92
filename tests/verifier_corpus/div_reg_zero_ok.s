; div_reg_zero_ok: accepted program
; rule: division
; type: xdp
; verdict: accept
call bpf_get_prandom_u32
r1 = r0
r0 = 100
r0 /= r1
exit
