"""Raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT) and BTF-typed ones (tp_btf).

Both go through BPF_RAW_TRACEPOINT_OPEN: by name for raw_tp, with no name for
tp_btf (the target is fixed by the program's attach_btf_id at load time).
"""

from __future__ import annotations

import ctypes
import errno

from ...uapi import Cmd
from ..syscall import RawTracepointAttr, addr_of
from .base import Link, bpf_call, prog_fd_of

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class RawTracepointLink(Link):
    kind = "raw_tracepoint"


def raw_tracepoint_open(prog: Any, name: str | None, action: str, *, cookie: int = 0,
                        hints: dict[int, str] | None = None) -> int:
    """BPF_RAW_TRACEPOINT_OPEN by ``name``, or with none (the target was fixed at load
    time: tp_btf, fentry/fexit, lsm); returns the new link fd."""
    cname = ctypes.create_string_buffer(name.encode()) if name else None
    attr = RawTracepointAttr(name=addr_of(cname), prog_fd=prog_fd_of(prog), cookie=cookie)
    return bpf_call(Cmd.RAW_TRACEPOINT_OPEN, attr, action, hints)


def attach_raw_tracepoint(prog: Any, name: str, *, cookie: int = 0) -> Link:
    """Attach to the kernel tracepoint ``name`` (``sys_enter``, ``sched_switch``; no category)."""
    tp = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    fd = raw_tracepoint_open(prog, tp, f"attach raw tracepoint {tp}", cookie=cookie,
                             hints={errno.ENOENT: "no such tracepoint"})
    return RawTracepointLink(tp, link_fd=fd)


def attach_tp_btf(prog: Any, name: str = "") -> Link:
    """Attach a tp_btf program (loaded with attach_btf_id of ``btf_trace_<name>``)."""
    fd = raw_tracepoint_open(prog, None, f"attach tp_btf {name}")
    link = RawTracepointLink(name or "tp_btf", link_fd=fd)
    link.kind = "tp_btf"
    return link
