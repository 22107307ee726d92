; pkt_adjust_bad: rejected program
; rule: pkt_bounds
; type: xdp
; verdict: reject
; error: is a number
r6 = r1
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto out
r7 = r2
r1 = r6
r2 = 0
call bpf_xdp_adjust_head
r0 = *(u8 *)(r7 + 0)
exit
out:
r0 = 2
exit
