; bpf_loop_ret_bad: rejected program
; rule: bpf_loop
; type: xdp
; verdict: reject
; error: must return 0 or 1
r1 = 10
r2 = code_addr(cb)
r3 = 0
r4 = 0
call bpf_loop
r0 = 0
exit
cb:
r0 = 2
exit
