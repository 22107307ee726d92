; stack_var_ok: accepted program
; rule: stack_var
; type: xdp
; verdict: accept
r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
call bpf_get_prandom_u32
r0 &= 15
r2 = r10
r2 += -16
r2 += r0
r0 = *(u8 *)(r2 + 0)
exit
