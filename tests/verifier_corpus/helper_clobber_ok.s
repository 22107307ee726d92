; helper_clobber_ok: accepted program
; rule: helper_clobber
; type: xdp
; verdict: accept
r6 = 5
call bpf_ktime_get_ns
r0 = r6
exit
