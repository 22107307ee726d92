// SPDX-License-Identifier: GPL-2.0
/* uprobe + uretprobe on the test workload's pybpf_target(i) (returns 3*i + 1). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls = 0, arg_sum = 0, ret_sum = 0;

struct call_rec {
	__u32 arg;
	__u32 nth;
	char tag[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__type(value, struct call_rec); /* the record type: pybpf decodes records with it */
} calls_perf SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(on_target, int i)
{
	struct call_rec rec = { .arg = i, .tag = "call" };

	calls++;
	arg_sum += i;
	rec.nth = calls;
	bpf_perf_event_output(ctx, &calls_perf, BPF_F_CURRENT_CPU, &rec, sizeof(rec));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_target_ret, int ret)
{
	ret_sum += ret;
	return 0;
}

/* SEC("?...") : not loaded unless autoload is switched on */
SEC("?uprobe")
int BPF_KPROBE(on_target_optional, int i)
{
	arg_sum += 1000;
	return 0;
}
