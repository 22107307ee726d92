// SPDX-License-Identifier: GPL-2.0
/* tp_btf (attach_btf_id), __ksym externs (typed and typeless), a map pinned by name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_hits SEC(".maps");

extern const void _stext __ksym;
extern const struct rq runqueues __ksym;

const volatile __u32 targ_tgid = 0;
__u64 stext_addr = 0;
__s32 rq_cpu = -1;
__u64 getppid_calls = 0;

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	__u64 *v;

	if ((bpf_get_current_pid_tgid() >> 32) != targ_tgid || id != 110)
		return 0;
	getppid_calls++;
	stext_addr = (__u64)&_stext;
	v = bpf_map_lookup_elem(&pinned_hits, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

/* A typed __ksym (a BTF_ID load). The kernel resolves it through kallsyms, which
 * needs CONFIG_KALLSYMS_ALL for data symbols, so the tests only check the spec. */
SEC("tp_btf/sys_enter")
int BPF_PROG(uses_runqueues, struct pt_regs *regs, long id)
{
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 0);

	if (rq)
		rq_cpu = BPF_CORE_READ(rq, cpu);
	return 0;
}
