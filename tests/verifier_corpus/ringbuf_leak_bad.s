; ringbuf_leak_bad: rejected program
; rule: ringbuf
; type: xdp
; map: events ringbuf 0 0 4096
; verdict: reject
; error: neither submitted nor discarded
r1 = map_fd(events)
r2 = 16
r3 = 0
call bpf_ringbuf_reserve
if r0 == 0 goto out
r1 = 7
*(u64 *)(r0 + 8) = r1
out:
r0 = 0
exit
