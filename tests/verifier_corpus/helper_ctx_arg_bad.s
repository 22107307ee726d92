; helper_ctx_arg_bad: rejected program
; rule: tail_call
; type: xdp
; map: progs prog_array 4 4 4
; verdict: reject
; error: must be the context pointer
r6 = r1
r1 = r10
r2 = map_fd(progs)
r3 = 0
call bpf_tail_call
r0 = 0
exit
