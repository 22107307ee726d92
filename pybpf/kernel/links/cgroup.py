"""cgroup hooks (skb ingress/egress, sock_create, connect4/6, device, sysctl, ...).

BPF_LINK_CREATE on the cgroup v2 directory's fd (5.7+); kernels without cgroup
links fall back to BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, detached on close.
"""

from __future__ import annotations

import errno
import os

from ...errors import PybpfError
from ...uapi import AttachType, Cmd
from ..syscall import LinkCreateAttr, ProgAttachAttr, bpf_raw
from .base import Link, bpf_call, bpf_failure, prog_fd_of

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

F_ALLOW_MULTI = 1 << 1  # BPF_F_ALLOW_MULTI
_NO_CGROUP_LINKS = (errno.EINVAL, errno.EOPNOTSUPP, 524)  # 524: ENOTSUPP (kernel-internal)

HOOKS = {
    "ingress": AttachType.CGROUP_INET_INGRESS,
    "egress": AttachType.CGROUP_INET_EGRESS,
    "sock_create": AttachType.CGROUP_INET_SOCK_CREATE,
    "sock_release": AttachType.CGROUP_INET_SOCK_RELEASE,
    "connect4": AttachType.CGROUP_INET4_CONNECT,
    "connect6": AttachType.CGROUP_INET6_CONNECT,
    "bind4": AttachType.CGROUP_INET4_BIND,
    "bind6": AttachType.CGROUP_INET6_BIND,
    "sendmsg4": AttachType.CGROUP_UDP4_SENDMSG,
    "sendmsg6": AttachType.CGROUP_UDP6_SENDMSG,
    "recvmsg4": AttachType.CGROUP_UDP4_RECVMSG,
    "recvmsg6": AttachType.CGROUP_UDP6_RECVMSG,
    "device": AttachType.CGROUP_DEVICE,
    "sysctl": AttachType.CGROUP_SYSCTL,
    "getsockopt": AttachType.CGROUP_GETSOCKOPT,
    "setsockopt": AttachType.CGROUP_SETSOCKOPT,
    "sock_ops": AttachType.CGROUP_SOCK_OPS,
}

CGROUP2_CANDIDATES = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def cgroup2_root() -> str:
    """The cgroup v2 mount (the hybrid ``unified`` dir, or /sys/fs/cgroup itself)."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "cgroup2":
                    return parts[1]
    except OSError:
        pass
    raise PybpfError("no cgroup v2 hierarchy is mounted "
                     "(mount -t cgroup2 none /sys/fs/cgroup/unified)")


class CgroupLink(Link):
    kind = "cgroup"


def attach_cgroup(prog: Any, cgroup: str, hook: str | AttachType) -> Link:
    """Attach at ``hook`` (a name from ``HOOKS`` or an AttachType) of cgroup dir ``cgroup``."""
    if isinstance(hook, str):
        try:
            attach_type = HOOKS[hook]
        except KeyError:
            raise PybpfError(f"unknown cgroup hook {hook!r}; choose one of "
                             + ", ".join(sorted(HOOKS))) from None
    else:
        attach_type = hook
    try:
        cg_fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise PybpfError(f"cgroup {cgroup}: {e.strerror}") from None
    pfd = prog_fd_of(prog)
    target = f"{cgroup}:{attach_type.name.lower()}"
    lfd, err = bpf_raw(Cmd.LINK_CREATE,
                       LinkCreateAttr(prog_fd=pfd, target_fd=cg_fd, attach_type=attach_type))
    if not err:
        return CgroupLink(target, [cg_fd], link_fd=lfd)
    try:
        if err not in _NO_CGROUP_LINKS:
            raise bpf_failure(Cmd.LINK_CREATE, err, f"attach {target}")
        bpf_call(Cmd.PROG_ATTACH, ProgAttachAttr(target_fd=cg_fd, attach_bpf_fd=pfd,
                                                 attach_type=attach_type,
                                                 attach_flags=F_ALLOW_MULTI), f"attach {target}")
    except PybpfError:
        os.close(cg_fd)
        raise
    prog_dup = os.dup(pfd)  # keep the program alive for the detach

    def detach() -> None:  # errors ignored: the cgroup or program may be gone already
        bpf_raw(Cmd.PROG_DETACH, ProgAttachAttr(target_fd=cg_fd, attach_bpf_fd=prog_dup,
                                                attach_type=attach_type))

    return CgroupLink(target, [cg_fd, prog_dup], on_close=detach)
