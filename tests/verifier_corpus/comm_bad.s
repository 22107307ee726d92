; comm_bad: rejected program
; rule: helper_output
; type: tracepoint
; verdict: reject
; error: outside the 512-byte stack frame
r1 = r10
r1 += -8
r2 = 16
call bpf_get_current_comm
r0 = *(u64 *)(r10 - 16)
r0 = 0
exit
