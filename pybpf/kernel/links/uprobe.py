"""uprobe/uretprobe: binary + symbol → file offset → uprobe PMU event (or uprobe_multi).

Probes sit on the file (inode), so they fire in every process that maps it,
unless ``pid`` restricts them. ``ref_ctr_offset`` is the file offset of a USDT
semaphore the kernel increments while the probe is attached (4.20+).
"""

from __future__ import annotations

import ctypes

from ...errors import PybpfError
from ...symbols import resolve_binary, uprobe_offset
from ...uapi import AttachType, Cmd
from .. import perf_event as pe
from ..syscall import LinkCreateAttr, addr_of
from .base import Link, MultiLink, attach_each, bpf_call, prog_fd_of
from .perf import attach_perf_fd

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

UPROBE_MULTI_RETURN = 1  # BPF_F_UPROBE_MULTI_RETURN


class UprobeLink(Link):
    kind = "uprobe"


def attach_uprobe_offset(prog: Any, path: str, offset: int, *, retprobe: bool = False,
                         pid: int = -1, ref_ctr_offset: int = 0, cookie: int = 0,
                         label: str = "") -> Link:
    """Attach at file ``offset`` of ``path`` (an absolute path)."""
    cpath = ctypes.create_string_buffer(path.encode())
    what = f"{'uretprobe' if retprobe else 'uprobe'}:{path}:{label or hex(offset)}"
    pfd = pe.open_probe("uprobe", ctypes.addressof(cpath), offset, retprobe=retprobe,
                        ref_ctr_offset=ref_ctr_offset, pid=pid, what=what)
    link = attach_perf_fd(prog, pfd, what, cookie=cookie, cls=UprobeLink)
    link.kind = "uretprobe" if retprobe else "uprobe"
    return link


def attach_uprobe(prog: Any, binary: str, symbol: str | int, offset: int = 0, *,
                  retprobe: bool = False, pid: int = -1, cookie: int = 0) -> Link:
    """Attach to ``symbol`` (or a virtual address) in ``binary`` (path, ``libc``, program)."""
    path, off = uprobe_offset(binary, symbol, offset)
    label = symbol if isinstance(symbol, str) else hex(symbol)
    return attach_uprobe_offset(prog, path, off, retprobe=retprobe, pid=pid, cookie=cookie,
                                label=f"{label}+{offset}" if offset else str(label))


def attach_uprobe_multi(prog: Any, binary: str, offsets: list[int], *, retprobe: bool = False,
                        pid: int = 0, ref_ctr_offsets: list[int] | None = None,
                        cookies: list[int] | None = None) -> Link:
    """One BPF_TRACE_UPROBE_MULTI link on many offsets (6.6+; program loaded with that
    expected attach type)."""
    if not offsets:
        raise PybpfError(f"uprobe_multi {binary}: no offsets to attach to")
    path = resolve_binary(binary)
    n = len(offsets)
    cpath = ctypes.create_string_buffer(path.encode())
    offs = (ctypes.c_uint64 * n)(*offsets)
    refs = (ctypes.c_uint64 * n)(*(ref_ctr_offsets or [0] * n))
    cks = (ctypes.c_uint64 * n)(*(cookies or [0] * n))
    attr = LinkCreateAttr(prog_fd=prog_fd_of(prog), attach_type=AttachType.TRACE_UPROBE_MULTI)
    um = attr.uprobe_multi
    um.path, um.offsets, um.cnt = addr_of(cpath), addr_of(offs), n
    um.ref_ctr_offsets = addr_of(refs) if ref_ctr_offsets else 0
    um.cookies = addr_of(cks) if cookies else 0
    um.flags = UPROBE_MULTI_RETURN if retprobe else 0
    um.pid = max(pid, 0)
    fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach uprobe_multi {path} ({n} offsets)")
    return UprobeLink(f"uprobe_multi:{path}:{n}", link_fd=fd)


def attach_uprobes(prog: Any, binary: str, symbols: list[str], *, retprobe: bool = False,
                   pid: int = -1) -> MultiLink:
    """Several symbols of one binary, one perf event each (works on every kernel)."""
    links = attach_each(symbols, lambda s: attach_uprobe(prog, binary, s, retprobe=retprobe,
                                                         pid=pid))
    return MultiLink(f"{binary}:{len(symbols)} symbols", links)
