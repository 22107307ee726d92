; helper_prog_type_ok: accepted program
; rule: helper_prog_type
; type: kprobe
; verdict: accept
r2 = r10
r2 += -16
r3 = 16
r4 = 0
call bpf_get_stack
r0 = 0
exit
