"""kprobe/kretprobe through the kprobe PMU, and kprobe_multi links (5.18+).

Needs CONFIG_KPROBES; without it the kprobe PMU is missing and attaching
raises a one-line ``PybpfError`` saying so.
"""

from __future__ import annotations

import ctypes

from ...errors import PybpfError
from ...uapi import AttachType, Cmd
from .. import perf_event as pe
from ..syscall import LinkCreateAttr, addr_of
from .base import Link, bpf_call, prog_fd_of
from .perf import attach_perf_fd

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

KPROBE_MULTI_RETURN = 1  # BPF_F_KPROBE_MULTI_RETURN


class KprobeLink(Link):
    kind = "kprobe"


def kprobes_available() -> bool:
    try:
        pe.pmu_type("kprobe")
        return True
    except PybpfError:
        return False


def attach_kprobe(prog: Any, func: str, offset: int = 0, *, retprobe: bool = False,
                  cookie: int = 0) -> Link:
    """Attach to kernel function ``func`` (+``offset``); ``retprobe`` for its return."""
    name = ctypes.create_string_buffer(func.encode())
    what = f"{'kretprobe' if retprobe else 'kprobe'}:{func}" + (f"+{offset}" if offset else "")
    pfd = pe.open_probe("kprobe", ctypes.addressof(name), offset, retprobe=retprobe, what=what)
    link = attach_perf_fd(prog, pfd, what, cookie=cookie, cls=KprobeLink)
    link.kind = "kretprobe" if retprobe else "kprobe"
    return link


def attach_kprobe_multi(prog: Any, funcs: list[str], *, retprobe: bool = False,
                        cookies: list[int] | None = None) -> Link:
    """One link on many kernel functions (BPF_TRACE_KPROBE_MULTI; the program must be
    loaded with that expected attach type)."""
    if not funcs:
        raise PybpfError("kprobe_multi: no functions to attach to")
    bufs = [ctypes.create_string_buffer(f.encode()) for f in funcs]
    syms = (ctypes.c_uint64 * len(funcs))(*[ctypes.addressof(b) for b in bufs])
    cks = (ctypes.c_uint64 * len(funcs))(*(cookies or [0] * len(funcs)))
    attr = LinkCreateAttr(prog_fd=prog_fd_of(prog), attach_type=AttachType.TRACE_KPROBE_MULTI)
    km = attr.kprobe_multi
    km.flags = KPROBE_MULTI_RETURN if retprobe else 0
    km.cnt, km.syms = len(funcs), addr_of(syms)
    km.cookies = addr_of(cks) if cookies else 0
    fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach kprobe_multi ({len(funcs)} functions)")
    return KprobeLink(f"kprobe_multi:{len(funcs)}", link_fd=fd)
