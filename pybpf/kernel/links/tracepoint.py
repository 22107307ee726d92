"""Tracepoint links: tracefs id → perf event → program (BPF_PROG_TYPE_TRACEPOINT)."""

from __future__ import annotations

from .. import perf_event as pe
from .. import tracefs
from .base import Link
from .perf import attach_perf_fd

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class TracepointLink(Link):
    kind = "tracepoint"


def attach_tracepoint(prog: Any, name: str, *, cookie: int = 0) -> Link:
    """Attach to ``category:name`` (e.g. ``syscalls:sys_enter_getpid``)."""
    cat, ev = tracefs.split_name(name)
    target = f"{cat}:{ev}"
    pfd = pe.open_tracepoint(tracefs.tracepoint_id(target), what=f"tracepoint {target}")
    return attach_perf_fd(prog, pfd, target, cookie=cookie, cls=TracepointLink)
