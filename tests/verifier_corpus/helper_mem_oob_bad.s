; helper_mem_oob_bad: rejected program
; rule: helper_size
; type: kprobe
; verdict: reject
; error: outside the 512-byte stack
r1 = r10
r1 += -16
r2 = 32
r3 = 0
call bpf_probe_read_kernel
r0 = 0
exit
