; map_arg_type_bad: rejected program
; rule: map_helper_args
; type: xdp
; verdict: reject
; error: must be a map
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
call bpf_map_lookup_elem
r0 = 0
exit
