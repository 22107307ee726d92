; helper_size_ok: accepted program
; rule: helper_size
; type: kprobe
; verdict: accept
call bpf_get_prandom_u32
r2 = r0
r2 &= 15
r2 += 1
r1 = r10
r1 += -16
r3 = 0
call bpf_probe_read_kernel
r0 = 0
exit
