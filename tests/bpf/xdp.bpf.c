// SPDX-License-Identifier: GPL-2.0
/* XDP (test_run): count packets per EtherType, drop one type. Also a legacy
 * `maps` section map and map-in-map with initial slots. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct legacy_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};
struct legacy_def legacy_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u64);
} by_proto SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
};
struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

const volatile __u16 drop_proto = 0x88b5;

__u64 loop_sum = 0;

struct loop_ctx {
	__u64 sum;
};

/* a bpf_loop callback: its address is an lddw of a function (BPF_PSEUDO_FUNC) */
static long add_index(__u32 i, void *data)
{
	struct loop_ctx *lc = data;

	lc->sum += i + 1;
	return 0;
}

static __always_inline void bump_inner(__u32 slot, __u32 idx)
{
	void *m = bpf_map_lookup_elem(&outer, &slot);
	__u64 *v;

	if (!m)
		return;
	v = bpf_map_lookup_elem(m, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int count_proto(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 one = 1, *cnt;
	__u32 k = 0;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	proto = bpf_ntohs(eth->h_proto);
	cnt = bpf_map_lookup_elem(&by_proto, &proto);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST);
	cnt = bpf_map_lookup_elem(&legacy_counts, &k);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	bump_inner(0, 0);
	bump_inner(2, 1);
	{
		struct loop_ctx lc = {0};

		bpf_loop(10, add_index, &lc, 0);
		loop_sum = lc.sum;
	}
	return proto == drop_proto ? XDP_DROP : XDP_PASS;
}
