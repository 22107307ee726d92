; spin_lock_ok: accepted program
; rule: spin_lock
; type: xdp
; map: locked array 4 16 1 spin_lock=0
; verdict: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(locked)
call bpf_map_lookup_elem
r6 = r0
r1 = r0
call bpf_spin_lock
r1 = 1
*(u64 *)(r6 + 8) = r1
r1 = r6
call bpf_spin_unlock
r0 = 0
exit
