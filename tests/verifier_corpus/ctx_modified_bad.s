; ctx_modified_bad: rejected program
; rule: ctx_modified
; type: xdp
; verdict: reject
; error: context pointer was moved
r1 += 4
r0 = *(u32 *)(r1 + 0)
exit
