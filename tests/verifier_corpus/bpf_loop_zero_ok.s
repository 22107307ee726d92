; bpf_loop_zero_ok: accepted program
; rule: bpf_loop
; type: xdp
; verdict: accept
; kernel: reject
; (Linux 6.18 refuses this valid program: 'verifier bug: No program to jit'
;  bpf_loop with a constant 0 count, in a program with another function)
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = 0
r2 = code_addr(cb)
r3 = r10
r3 += -8
r4 = 0
call bpf_loop
call sub
r0 = 0
exit
sub:
r0 = 0
exit
cb:
r0 = 0
exit
