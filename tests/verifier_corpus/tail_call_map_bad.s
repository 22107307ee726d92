; tail_call_map_bad: rejected program
; rule: tail_call
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: cannot be passed to bpf_tail_call
r2 = map_fd(counts)
r3 = 0
call bpf_tail_call
r0 = 0
exit
