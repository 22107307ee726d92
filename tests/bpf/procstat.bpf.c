// SPDX-License-Identifier: GPL-2.0
/* A libbpf-tools-sized object (our own code): five programs on process-lifecycle
 * tracepoints, five BTF maps, global data, and a task snapshot of ~40 CO-RE field
 * reads inlined into each program (~200 CO-RE relocations, ~2,000 instructions).
 * The load benchmark times it; tests/test_elf_procstat.py checks its values. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid = 0;

enum kind { K_EXEC = 0, K_EXIT = 1, K_FORK = 2, K_EXECVE = 3, K_EXECVE_RET = 4, K_MAX = 5 };

struct event {
	__u32 kind;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 leader;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 flags;
	__s32 prio;
	__s32 static_prio;
	__s32 normal_prio;
	__u32 policy;
	__s32 exit_code;
	__s32 exit_signal;
	__s32 pdeath_signal;
	__u32 nr_threads;
	__u32 ns_level;
	__u32 map_count;
	__u32 personality;
	__u32 sessionid;
	__u32 loginuid;
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 utime;
	__u64 stime;
	__u64 start_time;
	__u64 start_boottime;
	__u64 min_flt;
	__u64 maj_flt;
	__u64 total_vm;
	__u64 start_code;
	__u64 end_code;
	__u64 start_stack;
	__u64 arg_start;
	__u64 arg_end;
	__u64 env_start;
	__u64 sum_exec_runtime;
	__u64 vruntime;
	__u64 pcount;
	__u64 run_delay;
	__u64 latency_ns;
	__s64 ret;
	char comm[16];
	char parent_comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} last_pid SEC(".maps");

__u64 dropped = 0;

static __always_inline bool wanted(void)
{
	return !targ_tgid || targ_tgid == (bpf_get_current_pid_tgid() >> 32);
}

static __always_inline void bump(__u32 kind)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&counts, &kind);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &kind, &one, BPF_NOEXIST);
}

static __always_inline void snapshot(struct event *e, struct task_struct *t)
{
	e->pid = BPF_CORE_READ(t, pid);
	e->tgid = BPF_CORE_READ(t, tgid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->leader = BPF_CORE_READ(t, group_leader, pid);
	e->uid = BPF_CORE_READ(t, cred, uid.val);
	e->gid = BPF_CORE_READ(t, cred, gid.val);
	e->euid = BPF_CORE_READ(t, cred, euid.val);
	e->flags = BPF_CORE_READ(t, flags);
	e->prio = BPF_CORE_READ(t, prio);
	e->static_prio = BPF_CORE_READ(t, static_prio);
	e->normal_prio = BPF_CORE_READ(t, normal_prio);
	e->policy = BPF_CORE_READ(t, policy);
	e->exit_code = BPF_CORE_READ(t, exit_code);
	e->exit_signal = BPF_CORE_READ(t, exit_signal);
	e->pdeath_signal = BPF_CORE_READ(t, pdeath_signal);
	e->nr_threads = BPF_CORE_READ(t, signal, nr_threads);
	e->ns_level = BPF_CORE_READ(t, nsproxy, pid_ns_for_children, level);
	e->map_count = BPF_CORE_READ(t, mm, map_count);
	e->personality = BPF_CORE_READ(t, personality);
	e->sessionid = BPF_CORE_READ(t, sessionid);
	e->loginuid = BPF_CORE_READ(t, loginuid.val);
	e->nvcsw = BPF_CORE_READ(t, nvcsw);
	e->nivcsw = BPF_CORE_READ(t, nivcsw);
	e->utime = BPF_CORE_READ(t, utime);
	e->stime = BPF_CORE_READ(t, stime);
	e->start_time = BPF_CORE_READ(t, start_time);
	e->start_boottime = BPF_CORE_READ(t, start_boottime);
	e->min_flt = BPF_CORE_READ(t, min_flt);
	e->maj_flt = BPF_CORE_READ(t, maj_flt);
	e->total_vm = BPF_CORE_READ(t, mm, total_vm);
	e->start_code = BPF_CORE_READ(t, mm, start_code);
	e->end_code = BPF_CORE_READ(t, mm, end_code);
	e->start_stack = BPF_CORE_READ(t, mm, start_stack);
	e->arg_start = BPF_CORE_READ(t, mm, arg_start);
	e->arg_end = BPF_CORE_READ(t, mm, arg_end);
	e->env_start = BPF_CORE_READ(t, mm, env_start);
	e->sum_exec_runtime = BPF_CORE_READ(t, se.sum_exec_runtime);
	e->vruntime = BPF_CORE_READ(t, se.vruntime);
	e->pcount = BPF_CORE_READ(t, sched_info.pcount);
	e->run_delay = BPF_CORE_READ(t, sched_info.run_delay);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	BPF_CORE_READ_STR_INTO(&e->parent_comm, t, real_parent, comm);
}

static __always_inline int emit(__u32 kind, __s64 ret, __u64 latency)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	__u32 zero = 0, k = kind;
	__u64 pid;
	struct event *e;

	if (!wanted())
		return 0;
	bump(kind);
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->kind = kind;
	e->ret = ret;
	e->latency_ns = latency;
	snapshot(e, t);
	pid = e->pid;
	bpf_map_update_elem(&last_pid, &k, &pid, BPF_ANY);
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	return emit(K_EXEC, 0, 0);
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_template *ctx)
{
	return emit(K_EXIT, 0, 0);
}

SEC("tp/sched/sched_process_fork")
int handle_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	return emit(K_FORK, ctx->child_pid, 0);
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();

	if (!wanted())
		return 0;
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return emit(K_EXECVE, 0, 0);
}

SEC("tp/syscalls/sys_exit_execve")
int handle_execve_ret(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 *ts = bpf_map_lookup_elem(&start, &tid), lat = 0;

	if (ts) {
		lat = bpf_ktime_get_ns() - *ts;
		bpf_map_delete_elem(&start, &tid);
	}
	return emit(K_EXECVE_RET, ctx->ret, lat);
}
