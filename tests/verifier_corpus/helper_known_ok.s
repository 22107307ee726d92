; helper_known_ok: accepted program
; rule: helper_known
; type: xdp
; verdict: accept
call bpf_ktime_get_ns
r0 = 0
exit
