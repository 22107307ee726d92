; bpf_loop_ctx_bad: rejected program
; rule: bpf_loop
; type: xdp
; verdict: reject
; error: is a number
r1 = 10
r2 = code_addr(cb)
r3 = 0
r4 = 0
call bpf_loop
r0 = 0
exit
cb:
r0 = *(u64 *)(r2 + 0)
r0 = 0
exit
