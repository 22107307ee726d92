; probe_str_ok: accepted program
; rule: helper_output
; type: kprobe
; verdict: accept
r1 = r10
r1 += -32
r2 = 32
r3 = 0
call bpf_probe_read_kernel_str
r0 = *(u8 *)(r10 - 32)
exit
