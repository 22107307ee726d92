; map_readonly_bad: rejected program
; rule: map_readonly
; type: xdp
; map: ro array 4 8 1 flags=0x80
; verdict: reject
; error: read-only
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(ro)
call bpf_map_lookup_elem
r1 = 1
*(u64 *)(r0 + 0) = r1
r0 = 0
exit
