"""bpf() failures as exceptions whose one-line message says what to do.

``error_for(cmd, errno, what)`` maps an errno from a given command to the most
useful subclass and message: EPERM names the missing capability, EINVAL/E2BIG
the likely field, ENOENT the missing object.
"""

from __future__ import annotations

import errno as E
import os

from ..errors import PybpfError
from ..uapi import Cmd


class BpfError(PybpfError):
    """A bpf() call failed. ``errno`` and ``cmd`` say which and how."""

    def __init__(self, message: str, errno: int = 0, cmd: Cmd | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.cmd = cmd


class BpfPermissionError(BpfError):
    """EPERM/EACCES: missing privileges (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN or root)."""


class BpfNotFound(BpfError):
    """ENOENT: no such element, id or pinned path."""


class BpfInvalid(BpfError):
    """EINVAL/E2BIG: the kernel rejected a field of the request."""


class BpfUnsupported(BpfError):
    """The kernel does not support this command, map or program type."""


class BpfExists(BpfError):
    """EEXIST: the key (with NOEXIST) or the pin path exists already."""


class BpfNoSpace(BpfError):
    """E2BIG on update: the map is full."""


class VerifierError(BpfError):
    """The verifier rejected a program. ``log`` holds the full verifier log;
    ``summary`` the failing line; ``insn`` the failing instruction index if known;
    ``trimmed`` the log's last lines up to the failing instruction and the error."""

    def __init__(self, message: str, log: str, errno: int = 0, insn: int | None = None,
                 summary: str = "", trimmed: str = "") -> None:
        super().__init__(message, errno, Cmd.PROG_LOAD)
        self.log = log
        self.insn = insn
        self.summary = summary
        self.trimmed = trimmed or log


_CMD_WORDS = {
    Cmd.MAP_CREATE: "creating",
    Cmd.PROG_LOAD: "loading",
    Cmd.MAP_LOOKUP_ELEM: "looking up in",
    Cmd.MAP_UPDATE_ELEM: "updating",
    Cmd.MAP_DELETE_ELEM: "deleting from",
    Cmd.MAP_GET_NEXT_KEY: "iterating",
    Cmd.OBJ_PIN: "pinning",
    Cmd.OBJ_GET: "opening pinned",
    Cmd.PROG_TEST_RUN: "test-running",
    Cmd.MAP_FREEZE: "freezing",
    Cmd.MAP_LOOKUP_BATCH: "batch-reading",
    Cmd.MAP_LOOKUP_AND_DELETE_BATCH: "batch-draining",
    Cmd.MAP_UPDATE_BATCH: "batch-updating",
    Cmd.MAP_DELETE_BATCH: "batch-deleting from",
    Cmd.MAP_LOOKUP_AND_DELETE_ELEM: "popping from",
    Cmd.LINK_CREATE: "attaching",
    Cmd.PROG_GET_FD_BY_ID: "opening",
    Cmd.MAP_GET_FD_BY_ID: "opening",
    Cmd.LINK_GET_FD_BY_ID: "opening",
    Cmd.BTF_GET_FD_BY_ID: "opening",
    Cmd.OBJ_GET_INFO_BY_FD: "reading info of",
    Cmd.BTF_LOAD: "loading",
}

_PRIV_HINT = (
    "run as root or grant CAP_BPF+CAP_PERFMON (CAP_NET_ADMIN for network programs, "
    "CAP_SYS_ADMIN for some map types); unprivileged users also need "
    "kernel.unprivileged_bpf_disabled=0"
)


def _privilege_hint() -> str:
    try:
        with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
            val = f.read().strip()
    except OSError:
        val = "?"
    uid = os.geteuid()
    if uid == 0:  # privileges are not what is missing: the kernel refuses this use
        return ("the kernel refuses this even for root (kernel lockdown, a security module, "
                "or a program/attach type this kernel does not allow, such as fentry/fexit/"
                "LSM without BTF trampolines)")
    return (f"operation not permitted for uid {uid} "
            f"(kernel.unprivileged_bpf_disabled={val}): {_PRIV_HINT}")


def error_for(cmd: Cmd, err: int, what: str = "") -> BpfError:
    """The exception for errno ``err`` from bpf(``cmd``), naming ``what``."""
    doing = _CMD_WORDS.get(cmd, f"BPF_{cmd.name}")
    target = f" {what}" if what else ""
    head = f"{doing}{target}"
    strerr = os.strerror(err)
    if err in (E.EPERM, E.EACCES):
        if cmd in (Cmd.OBJ_GET, Cmd.OBJ_PIN) and err == E.EACCES:
            if os.geteuid() == 0:  # root: the kernel's EACCES means "not a BPF object"
                return BpfInvalid(f"{head}: not a pinned BPF object (pins are files on a bpffs "
                                  "mount, e.g. /sys/fs/bpf/NAME)", err, cmd)
            return BpfPermissionError(f"{head}: permission denied on the bpffs path", err, cmd)
        writes = (Cmd.MAP_UPDATE_ELEM, Cmd.MAP_DELETE_ELEM, Cmd.MAP_UPDATE_BATCH)
        if cmd in writes and err == E.EPERM:
            return BpfPermissionError(
                f"{head}: the map is frozen or read-only for user space", err, cmd)
        return BpfPermissionError(f"{head}: {_privilege_hint()}", err, cmd)
    if err == E.ENOSYS:
        return BpfUnsupported(f"{head}: this kernel has no bpf() syscall (CONFIG_BPF_SYSCALL)",
                              err, cmd)
    if err == E.ENOENT:
        if cmd in (Cmd.MAP_LOOKUP_ELEM, Cmd.MAP_DELETE_ELEM, Cmd.MAP_LOOKUP_AND_DELETE_ELEM):
            return BpfNotFound(f"{head}: no such key", err, cmd)
        if cmd in (Cmd.MAP_UPDATE_ELEM, Cmd.MAP_UPDATE_BATCH):
            return BpfNotFound(f"{head}: no such key (update flag EXIST needs an existing key)",
                               err, cmd)
        if cmd == Cmd.OBJ_GET:
            return BpfNotFound(f"{head}: no such pinned object (check the path under /sys/fs/bpf)",
                               err, cmd)
        if cmd in (Cmd.PROG_GET_FD_BY_ID, Cmd.MAP_GET_FD_BY_ID, Cmd.LINK_GET_FD_BY_ID,
                   Cmd.BTF_GET_FD_BY_ID):
            return BpfNotFound(f"{head}: no object with that id (it may have been unloaded)",
                               err, cmd)
        return BpfNotFound(f"{head}: {strerr.lower()}", err, cmd)
    if err == E.EEXIST:
        if cmd == Cmd.OBJ_PIN:
            return BpfExists(f"{head}: the pin path exists already; unpin it or choose another",
                             err, cmd)
        return BpfExists(f"{head}: the key exists already (update flag NOEXIST)", err, cmd)
    if err == E.E2BIG:
        if cmd in (Cmd.MAP_UPDATE_ELEM, Cmd.MAP_UPDATE_BATCH):
            return BpfNoSpace(f"{head}: the map is full (raise max_entries)", err, cmd)
        if cmd == Cmd.PROG_LOAD:
            return BpfInvalid(f"{head}: the program is too large for this kernel", err, cmd)
        return BpfInvalid(
            f"{head}: the kernel does not know a field we set (bpf_attr larger than it supports); "
            "this kernel is older than the feature", err, cmd)
    if err == E.EINVAL:
        hint = {
            Cmd.MAP_CREATE: "check map type, key/value sizes, max_entries and flags for this type",
            Cmd.PROG_LOAD: "check the program type, expected_attach_type, flags and attach "
                           "target (attach_btf_id) for this type",
            Cmd.MAP_UPDATE_ELEM: "check the key/value size and the update flags",
            Cmd.MAP_LOOKUP_ELEM: "this map type may not support lookup from user space",
            Cmd.MAP_DELETE_ELEM: "this map type has no deletion (array elements always exist: "
                                 "write zeros instead)",
            Cmd.MAP_GET_NEXT_KEY: "this map type cannot be iterated",
            Cmd.PROG_TEST_RUN: "check data/ctx sizes: this program type may need ctx or "
                               "a minimum packet size (14 bytes for an Ethernet header)",
            Cmd.LINK_CREATE: "check the attach type and target for this program type",
            Cmd.OBJ_PIN: "the path must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)",
            Cmd.OBJ_GET: "the path must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)",
        }.get(cmd, "the kernel rejected an argument")
        return BpfInvalid(f"{head}: invalid argument: {hint}", err, cmd)
    if err in (E.EOPNOTSUPP, E.ENOTSUP, E.ENOTSUPP if hasattr(E, "ENOTSUPP") else 524, 524):
        return BpfUnsupported(f"{head}: not supported by this kernel or for this object", err, cmd)
    if err == E.EBADF:
        return BpfInvalid(f"{head}: bad file descriptor (the object was closed?)", err, cmd)
    if err == E.ENOMEM and cmd == Cmd.PROG_TEST_RUN:
        return BpfInvalid(f"{head}: out of memory: the packet is too large for a test run "
                          "(XDP: at most 17 pages of fragments after the first)", err, cmd)
    if err == E.ENOMEM:
        return BpfError(f"{head}: out of memory (check RLIMIT_MEMLOCK or lower max_entries)",
                        err, cmd)
    if err == E.EBUSY:
        return BpfError(f"{head}: busy (something else is attached there)", err, cmd)
    if err == E.EFAULT:
        return BpfInvalid(f"{head}: bad address passed to the kernel", err, cmd)
    return BpfError(f"{head}: {strerr} (errno {err})", err, cmd)
