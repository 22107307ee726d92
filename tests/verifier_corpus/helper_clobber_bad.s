; helper_clobber_bad: rejected program
; rule: helper_clobber
; type: xdp
; verdict: reject
; error: r1 is read before any value
r1 = 5
call bpf_ktime_get_ns
r0 = r1
exit
