; helper_size_bad: rejected program
; rule: helper_size
; type: kprobe
; verdict: reject
; error: size passed to bpf_probe_read_kernel
call bpf_get_prandom_u32
r2 = r0
r1 = r10
r1 += -16
r3 = 0
call bpf_probe_read_kernel
r0 = 0
exit
