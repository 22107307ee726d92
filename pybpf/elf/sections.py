"""libbpf's SEC() table: one table maps a section name to program type, expected attach
type, flags and how to read the auto-attach target from the rest of the name.

Matching follows libbpf 1.x: a prefix ending in ``+`` matches the name itself or the
name followed by ``/target``; any other prefix must match the whole name.
"""

from __future__ import annotations

from .._record import dataclass
from ..uapi import AttachType as A
from ..uapi import ProgType as P

# flags (libbpf's SEC_* bits, ours)
SLEEPABLE = 1  # BPF_F_SLEEPABLE at load
XDP_FRAGS = 2  # BPF_F_XDP_HAS_FRAGS at load
ATTACH_BTF = 4  # needs attach_btf_id (fentry/fexit/lsm/iter/tp_btf/freplace)
USDT = 8
ATTACHABLE = 16  # expected_attach_type is passed at load

BPF_F_SLEEPABLE = 1 << 4
BPF_F_XDP_HAS_FRAGS = 1 << 5


@dataclass(frozen=True, slots=True)
class SecDef:
    prefix: str
    prog_type: P
    attach_type: A | None = None
    flags: int = 0
    btf_prefix: str = ""  # kernel BTF name of the attach target: prefix + target

    @property
    def is_prefix(self) -> bool:
        return self.prefix.endswith("+")

    def matches(self, name: str) -> bool:
        if self.is_prefix:
            p = self.prefix[:-1]
            return name == p or name.startswith(p + "/")
        return name == self.prefix

    def target(self, name: str) -> str:
        """The auto-attach target written after the prefix (``""`` if none)."""
        p = self.prefix.rstrip("+")
        return name[len(p) + 1:] if name.startswith(p + "/") else ""

    def load_flags(self) -> int:
        return ((BPF_F_SLEEPABLE if self.flags & SLEEPABLE else 0)
                | (BPF_F_XDP_HAS_FRAGS if self.flags & XDP_FRAGS else 0))


def _d(prefix: str, pt: P, at: A | None = None, flags: int = 0, btf: str = "") -> SecDef:
    return SecDef(prefix, pt, at, flags, btf)


_CG = P.CGROUP_SOCK_ADDR
SECTION_DEFS: tuple[SecDef, ...] = (
    _d("socket", P.SOCKET_FILTER),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, ATTACHABLE),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, ATTACHABLE),
    _d("kprobe+", P.KPROBE),
    _d("uprobe+", P.KPROBE),
    _d("uprobe.s+", P.KPROBE, None, SLEEPABLE),
    _d("kretprobe+", P.KPROBE),
    _d("uretprobe+", P.KPROBE),
    _d("uretprobe.s+", P.KPROBE, None, SLEEPABLE),
    _d("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION),
    _d("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, SLEEPABLE),
    _d("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, SLEEPABLE),
    _d("ksyscall+", P.KPROBE),
    _d("kretsyscall+", P.KPROBE),
    _d("usdt+", P.KPROBE, None, USDT),
    _d("usdt.s+", P.KPROBE, None, USDT | SLEEPABLE),
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY),
    _d("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER),
    _d("tc", P.SCHED_CLS),
    _d("classifier", P.SCHED_CLS),
    _d("action", P.SCHED_ACT),
    _d("tracepoint+", P.TRACEPOINT),
    _d("tp+", P.TRACEPOINT),
    _d("raw_tracepoint+", P.RAW_TRACEPOINT),
    _d("raw_tp+", P.RAW_TRACEPOINT),
    _d("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE),
    _d("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE),
    _d("tp_btf+", P.TRACING, A.TRACE_RAW_TP, ATTACH_BTF, "btf_trace_"),
    _d("fentry+", P.TRACING, A.TRACE_FENTRY, ATTACH_BTF),
    _d("fmod_ret+", P.TRACING, A.MODIFY_RETURN, ATTACH_BTF),
    _d("fexit+", P.TRACING, A.TRACE_FEXIT, ATTACH_BTF),
    _d("fentry.s+", P.TRACING, A.TRACE_FENTRY, ATTACH_BTF | SLEEPABLE),
    _d("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, ATTACH_BTF | SLEEPABLE),
    _d("fexit.s+", P.TRACING, A.TRACE_FEXIT, ATTACH_BTF | SLEEPABLE),
    _d("freplace+", P.EXT, None, ATTACH_BTF),
    _d("lsm+", P.LSM, A.LSM_MAC, ATTACH_BTF, "bpf_lsm_"),
    _d("lsm.s+", P.LSM, A.LSM_MAC, ATTACH_BTF | SLEEPABLE, "bpf_lsm_"),
    _d("lsm_cgroup+", P.LSM, A.LSM_CGROUP, ATTACH_BTF, "bpf_lsm_"),
    _d("iter+", P.TRACING, A.TRACE_ITER, ATTACH_BTF, "bpf_iter_"),
    _d("iter.s+", P.TRACING, A.TRACE_ITER, ATTACH_BTF | SLEEPABLE, "bpf_iter_"),
    _d("syscall", P.SYSCALL, None, SLEEPABLE),
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, XDP_FRAGS | ATTACHABLE),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP, ATTACHABLE),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, XDP_FRAGS | ATTACHABLE),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP, ATTACHABLE),
    _d("xdp.frags", P.XDP, A.XDP, XDP_FRAGS),
    _d("xdp", P.XDP, A.XDP),
    _d("perf_event", P.PERF_EVENT),
    _d("lwt_in", P.LWT_IN),
    _d("lwt_out", P.LWT_OUT),
    _d("lwt_xmit", P.LWT_XMIT),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL),
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, ATTACHABLE),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, ATTACHABLE),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, ATTACHABLE),
    _d("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, ATTACHABLE),
    _d("sk_skb", P.SK_SKB),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, ATTACHABLE),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2, ATTACHABLE),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, ATTACHABLE),
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, ATTACHABLE),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, ATTACHABLE),
    _d("cgroup/skb", P.CGROUP_SKB),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, ATTACHABLE),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, ATTACHABLE),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, ATTACHABLE),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, ATTACHABLE),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, ATTACHABLE),
    _d("cgroup/bind4", _CG, A.CGROUP_INET4_BIND, ATTACHABLE),
    _d("cgroup/bind6", _CG, A.CGROUP_INET6_BIND, ATTACHABLE),
    _d("cgroup/connect4", _CG, A.CGROUP_INET4_CONNECT, ATTACHABLE),
    _d("cgroup/connect6", _CG, A.CGROUP_INET6_CONNECT, ATTACHABLE),
    _d("cgroup/connect_unix", _CG, A.CGROUP_UNIX_CONNECT, ATTACHABLE),
    _d("cgroup/sendmsg4", _CG, A.CGROUP_UDP4_SENDMSG, ATTACHABLE),
    _d("cgroup/sendmsg6", _CG, A.CGROUP_UDP6_SENDMSG, ATTACHABLE),
    _d("cgroup/sendmsg_unix", _CG, A.CGROUP_UNIX_SENDMSG, ATTACHABLE),
    _d("cgroup/recvmsg4", _CG, A.CGROUP_UDP4_RECVMSG, ATTACHABLE),
    _d("cgroup/recvmsg6", _CG, A.CGROUP_UDP6_RECVMSG, ATTACHABLE),
    _d("cgroup/recvmsg_unix", _CG, A.CGROUP_UNIX_RECVMSG, ATTACHABLE),
    _d("cgroup/getpeername4", _CG, A.CGROUP_INET4_GETPEERNAME, ATTACHABLE),
    _d("cgroup/getpeername6", _CG, A.CGROUP_INET6_GETPEERNAME, ATTACHABLE),
    _d("cgroup/getpeername_unix", _CG, A.CGROUP_UNIX_GETPEERNAME, ATTACHABLE),
    _d("cgroup/getsockname4", _CG, A.CGROUP_INET4_GETSOCKNAME, ATTACHABLE),
    _d("cgroup/getsockname6", _CG, A.CGROUP_INET6_GETSOCKNAME, ATTACHABLE),
    _d("cgroup/getsockname_unix", _CG, A.CGROUP_UNIX_GETSOCKNAME, ATTACHABLE),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, ATTACHABLE),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, ATTACHABLE),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, ATTACHABLE),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, ATTACHABLE),
    _d("struct_ops+", P.STRUCT_OPS),
    _d("struct_ops.s+", P.STRUCT_OPS, None, SLEEPABLE),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, ATTACHABLE),
    _d("netfilter", P.NETFILTER, A.NETFILTER),
)


def find_section_def(name: str) -> SecDef | None:
    """The table entry for section ``name`` (first match wins, as in libbpf), or None."""
    for d in SECTION_DEFS:
        if d.matches(name):
            return d
    return None


def attach_target(d: SecDef, name: str) -> str:
    """The auto-attach target in a form ``pybpf.kernel.links.attach`` understands.

    ``tracepoint/syscalls/sys_enter_openat`` -> ``syscalls/sys_enter_openat``;
    ``uprobe//bin/bash:readline`` -> ``/bin/bash:readline``; ``usdt/bin:prov:name`` as is;
    ``xdp``/``tc``/cgroup hooks have no target in the name (an interface or cgroup is
    chosen at attach time).
    """
    return d.target(name)
