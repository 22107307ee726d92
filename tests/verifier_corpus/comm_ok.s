; comm_ok: accepted program
; rule: helper_output
; type: tracepoint
; verdict: accept
r1 = r10
r1 += -16
r2 = 16
call bpf_get_current_comm
r0 = *(u64 *)(r10 - 16)
r0 = 0
exit
