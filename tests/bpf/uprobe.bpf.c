// SPDX-License-Identifier: GPL-2.0
/* uprobe + uretprobe on the test workload's pybpf_target(i) (returns 3*i + 1). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls = 0, arg_sum = 0, ret_sum = 0;

SEC("uprobe")
int BPF_KPROBE(on_target, int i)
{
	calls++;
	arg_sum += i;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_target_ret, int ret)
{
	ret_sum += ret;
	return 0;
}
