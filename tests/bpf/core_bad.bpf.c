// SPDX-License-Identifier: GPL-2.0
/* An unguarded CO-RE read of a field the kernel does not have: must fail to load
 * with a message naming the relocation. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___bad {
	int no_such_field;
} __attribute__((preserve_access_index));

__u32 out = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int bad_read(void *ctx)
{
	struct task_struct___bad *t = (void *)bpf_get_current_task();

	out = BPF_CORE_READ(t, no_such_field);
	return 0;
}
