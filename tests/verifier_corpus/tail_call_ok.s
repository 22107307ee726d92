; tail_call_ok: accepted program
; rule: tail_call
; type: xdp
; map: progs prog_array 4 4 4
; verdict: accept
r2 = map_fd(progs)
r3 = 0
call bpf_tail_call
r0 = 0
exit
