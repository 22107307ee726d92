; stack_uninit_bad: rejected program
; rule: stack_uninit
; type: xdp
; verdict: reject
; error: uninitialized stack byte fp-8
; kernel: accept
r0 = *(u64 *)(r10 - 8)
exit
