// SPDX-License-Identifier: GPL-2.0
/* pybpf object-loader test: a tracepoint reading task_struct via CO-RE, typed ring
 * buffer events, .rodata config set from Python, .bss counters, a subprogram, a
 * bitfield, enum-value and type relocations, kconfig externs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 seq;
	__u32 reset_on_fork;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} per_pid SEC(".maps");

const volatile __u32 targ_tgid = 0;
const volatile __u32 step = 1;

__u64 hits = 0;
__u64 total = 0;
__u32 kver = 0;
__u32 have_bpf_syscall = 0;
__u32 ringbuf_output_id = 0;
__u32 missing_enum_exists = 7;
__u32 missing_field_exists = 7;
__u32 guarded_value = 7;
__u32 task_size = 0;
__u32 missing_type_exists = 7;
__u32 pid_field_size = 0;
__u32 task_btf_id = 0;
__u32 local_bad_id = 0;

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_PYBPF_NOT_A_REAL_OPTION __kconfig __weak;

enum bpf_func_id___x { BPF_FUNC_ringbuf_output___x = 1, BPF_FUNC_no_such_helper___x = 2 };

struct task_struct___bad {
	int no_such_field;
} __attribute__((preserve_access_index));

struct no_such_type___x {
	int a;
};

__noinline int bump(__u32 by)
{
	hits += 1;
	total += by;
	return hits;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct event *e;
	__u64 one = 1, *cnt;

	if (tgid != targ_tgid)
		return 0;
	bump(step);
	cnt = bpf_map_lookup_elem(&per_pid, &tgid);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&per_pid, &tgid, &one, BPF_ANY);

	kver = LINUX_KERNEL_VERSION;
	have_bpf_syscall = CONFIG_BPF_SYSCALL + CONFIG_PYBPF_NOT_A_REAL_OPTION;
	ringbuf_output_id = bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_ringbuf_output___x);
	missing_enum_exists = bpf_core_enum_value_exists(enum bpf_func_id___x,
							 BPF_FUNC_no_such_helper___x);
	missing_field_exists = bpf_core_field_exists(((struct task_struct___bad *)task)->no_such_field);
	if (bpf_core_field_exists(((struct task_struct___bad *)task)->no_such_field))
		guarded_value = BPF_CORE_READ((struct task_struct___bad *)task, no_such_field);
	else
		guarded_value = 0;
	task_size = bpf_core_type_size(struct task_struct);
	missing_type_exists = bpf_core_type_exists(struct no_such_type___x);
	pid_field_size = bpf_core_field_size(task->pid);
	task_btf_id = bpf_core_type_id_kernel(struct task_struct);
	local_bad_id = bpf_core_type_id_local(struct task_struct___bad);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->seq = hits;
	e->reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
