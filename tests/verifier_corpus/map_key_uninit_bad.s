; map_key_uninit_bad: rejected program
; rule: map_helper_args
; type: xdp
; map: counts hash 4 8 16
; verdict: reject
; error: uninitialized
; kernel: accept
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
r0 = 0
exit
