// SPDX-License-Identifier: GPL-2.0
/* The verifier rejects this (packet read without a bounds check): the error must name
 * the C source line, which comes from the object's line_info. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int unchecked(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[20] == 7 ? XDP_DROP : XDP_PASS;
}
