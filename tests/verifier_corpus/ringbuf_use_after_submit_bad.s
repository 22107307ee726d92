; ringbuf_use_after_submit_bad: rejected program
; rule: ringbuf
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: reject
; error: is a number
r1 = map_fd(events)
r2 = 16
r3 = 0
call bpf_ringbuf_reserve
if r0 == 0 goto out
r6 = r0
r1 = r0
r2 = 0
call bpf_ringbuf_submit
r1 = *(u64 *)(r6 + 0)
out:
r0 = 0
exit
