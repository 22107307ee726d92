"""Attach points: one small module per kind, all returning a ``Link``.

Every link owns its fds and detaches on ``close()`` / ``with`` exit / garbage
collection; ``kernel.teardown.close_links`` releases many at once, fast.

    from pybpf.kernel.links import attach_tracepoint
    with attach_tracepoint(prog, "syscalls:sys_enter_getpid"):
        ...

``attach(prog)`` picks the kind from the program's spec (type, section,
attach_to), as libbpf's auto-attach does.
"""

from __future__ import annotations

from .base import Link, MultiLink

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "attach_tracepoint": "tracepoint",
    "attach_raw_tracepoint": "raw_tracepoint",
    "attach_tp_btf": "raw_tracepoint",
    "attach_tracing": "tracing",
    "attach_fentry": "tracing",
    "attach_fexit": "tracing",
    "attach_fmod_ret": "tracing",
    "attach_lsm": "tracing",
    "attach_kprobe": "kprobe",
    "attach_kprobe_multi": "kprobe",
    "kprobes_available": "kprobe",
    "attach_uprobe": "uprobe",
    "attach_uprobe_offset": "uprobe",
    "attach_uprobe_multi": "uprobe",
    "attach_uprobes": "uprobe",
    "attach_usdt": "usdt",
    "attach_perf_event": "perf",
    "attach_perf_fd": "perf",
    "attach_xdp": "xdp",
    "attach_tcx": "tcx",
    "attach_cgroup": "cgroup",
    "cgroup2_root": "cgroup",
    "attach_socket_filter": "socket_filter",
    "attach_iter": "iter",
    "IterLink": "iter",
    "attach_btf_id": "btf_target",
}

__all__ = ["Link", "MultiLink", "attach", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf.kernel.links' has no attribute {name!r}")
    return getattr(__import__(f"{__name__}.{mod}", fromlist=["_"]), name)  # not importlib


def attach(prog: Any, target: str | None = None, **kw: Any) -> Link:
    """Attach a loaded program where its spec says (``target`` overrides ``attach_to``)."""
    from .dispatch import attach as _attach

    return _attach(prog, target, **kw)
