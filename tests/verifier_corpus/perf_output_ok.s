; perf_output_ok: accepted program
; rule: helper_output
; type: tracepoint
; map: perf perf_event_array 4 4 4
; verdict: accept
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
r4 = r10
r4 += -8
r5 = 8
r1 = r6
r2 = map_fd(perf)
r3 = 0xffffffff ll
call bpf_perf_event_output
r0 = 0
exit
