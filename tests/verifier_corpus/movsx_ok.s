; movsx_ok: accepted program
; rule: sign_extend
; type: xdp
; verdict: accept
call bpf_get_prandom_u32
r1 = (s8)r0
r1 += 128
r0 = r1
exit
