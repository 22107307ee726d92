"""Raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT) and BTF-typed ones (tp_btf).

Both go through BPF_RAW_TRACEPOINT_OPEN: by name for raw_tp, with no name for
tp_btf (the target is fixed by the program's attach_btf_id at load time).
"""

from __future__ import annotations

from typing import Any

from . import _sys
from .base import Link, attach_errno, prog_fd_of


class RawTracepointLink(Link):
    kind = "raw_tracepoint"


def attach_raw_tracepoint(prog: Any, name: str, *, cookie: int = 0) -> Link:
    """Attach to the kernel tracepoint ``name`` (``sys_enter``, ``sched_switch``; no category)."""
    tp = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    try:
        fd = _sys.raw_tracepoint_open(prog_fd_of(prog), tp, cookie)
    except OSError as e:
        raise attach_errno(f"raw tracepoint {tp}", e,
                           "no such tracepoint" if e.errno == 2 else "") from None
    return RawTracepointLink(tp, link_fd=fd)


def attach_tp_btf(prog: Any, name: str = "") -> Link:
    """Attach a tp_btf program (loaded with attach_btf_id of ``btf_trace_<name>``)."""
    try:
        fd = _sys.raw_tracepoint_open(prog_fd_of(prog), None)
    except OSError as e:
        raise attach_errno(f"tp_btf {name}", e) from None
    link = RawTracepointLink(name or "tp_btf", link_fd=fd)
    link.kind = "tp_btf"
    return link
