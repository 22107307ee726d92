; ringbuf_oob_bad: rejected program
; rule: ringbuf
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: reject
; error: outside its 16 bytes
r1 = map_fd(events)
r2 = 16
r3 = 0
call bpf_ringbuf_reserve
if r0 == 0 goto out
r1 = 7
*(u64 *)(r0 + 12) = r1
r1 = r0
r2 = 0
call bpf_ringbuf_discard
out:
r0 = 0
exit
