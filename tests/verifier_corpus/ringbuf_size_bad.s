; ringbuf_size_bad: rejected program
; rule: ringbuf
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: reject
; error: known constant
call bpf_get_prandom_u32
r2 = r0
r1 = map_fd(events)
r3 = 0
call bpf_ringbuf_reserve
r0 = 0
exit
