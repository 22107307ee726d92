; ringbuf_null_bad: rejected program
; rule: ringbuf
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: reject
; error: may be null
r1 = map_fd(events)
r2 = 16
r3 = 0
call bpf_ringbuf_reserve
r1 = r0
r2 = 0
call bpf_ringbuf_submit
r0 = 0
exit
