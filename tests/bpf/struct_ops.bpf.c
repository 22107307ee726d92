// SPDX-License-Identifier: GPL-2.0
/* A minimal TCP congestion control as struct_ops maps (our own code, no kernel headers):
 * one map in .struct_ops (registered by the map update) and one in .struct_ops.link
 * (registered by BPF_LINK_CREATE). The object's tcp_congestion_ops declares only the
 * members it sets, in its own order, so the loader must lay the value out from the
 * kernel's type by member name. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct sock;

struct tcp_sock {
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
} __attribute__((preserve_access_index));

/* Not the kernel's order or member set: name-matched at load. */
struct tcp_congestion_ops {
	void (*init)(struct sock *sk);
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	__u32 flags;
	char name[16];
};

__u64 init_calls = 0;
__u64 cong_avoid_calls = 0;

SEC("struct_ops/pyca_init")
void BPF_PROG(pyca_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/pyca_ssthresh")
__u32 BPF_PROG(pyca_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops/pyca_cong_avoid")
void BPF_PROG(pyca_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
}

SEC("struct_ops/pyca_undo_cwnd")
__u32 BPF_PROG(pyca_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

/* No variable points here: not loaded (its member would fix its attach point). */
SEC("struct_ops/pyca_unused")
__u32 BPF_PROG(pyca_unused, struct sock *sk)
{
	return 2;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_ca = {
	.init = (void *)pyca_init,
	.ssthresh = (void *)pyca_ssthresh,
	.cong_avoid = (void *)pyca_cong_avoid,
	.undo_cwnd = (void *)pyca_undo_cwnd,
	.flags = 1, /* TCP_CONG_NON_RESTRICTED */
	.name = "pybpf_ca",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops pybpf_ca_link = {
	.ssthresh = (void *)pyca_ssthresh,
	.cong_avoid = (void *)pyca_cong_avoid,
	.undo_cwnd = (void *)pyca_undo_cwnd,
	.name = "pybpf_ca_lnk",
};
