; spin_lock_direct_bad: rejected program
; rule: spin_lock
; type: xdp
; map: locked array 4 16 1 spin_lock=0
; verdict: reject
; error: cannot be read from directly
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(locked)
call bpf_map_lookup_elem
r1 = *(u32 *)(r0 + 0)
r0 = 0
exit
