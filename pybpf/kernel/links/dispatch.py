"""Pick the attach kind from a program's spec, like libbpf's SEC()-driven auto-attach."""

from __future__ import annotations

from ...errors import PybpfError
from ...uapi import AttachType, ProgType
from .base import Link

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def _split_probe(target: str) -> tuple[str, str, int]:
    """``/bin/bash:readline+4`` → (binary, symbol, offset)."""
    binary, sep, sym = target.rpartition(":")
    if not sep or not binary:
        raise PybpfError(f"uprobe target {target!r}: write it as binary:symbol")
    name, _, off = sym.partition("+")
    return binary, name, int(off, 0) if off else 0


def attach(prog: Any, target: str | None = None, **kw: Any) -> Link:
    spec = getattr(prog, "spec", None)
    if spec is None:
        raise PybpfError(f"attach {prog!r}: no program spec; use the attach_<kind> functions")
    ptype, section = spec.type, spec.section or ""
    kind = section.split("/", 1)[0]
    where = target if target is not None else spec.attach_to
    if not where and "/" in section:
        where = section.split("/", 1)[1]
    at = spec.attach_type
    # each kind's module is imported only when needed (some pull in socket, symbols...)
    if ptype == ProgType.TRACEPOINT:
        from . import tracepoint

        return tracepoint.attach_tracepoint(prog, where, **kw)
    if ptype in (ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE):
        from . import raw_tracepoint

        return raw_tracepoint.attach_raw_tracepoint(prog, where, **kw)
    if ptype == ProgType.TRACING and at == AttachType.TRACE_ITER:
        from . import iter

        return iter.attach_iter(prog, where, **kw)
    if ptype == ProgType.TRACING and at == AttachType.TRACE_RAW_TP:
        from . import raw_tracepoint

        return raw_tracepoint.attach_tp_btf(prog, where)
    if ptype in (ProgType.TRACING, ProgType.LSM, ProgType.EXT):
        from . import tracing

        return tracing.attach_tracing(prog, where, **kw)
    if ptype == ProgType.KPROBE:
        if kind == "usdt":
            from . import usdt

            binary, provider, name = where.rsplit(":", 2)
            return usdt.attach_usdt(prog, binary, provider, name, **kw)
        if kind in ("uprobe", "uretprobe"):
            from . import uprobe

            binary, sym, off = _split_probe(where)
            return uprobe.attach_uprobe(prog, binary, sym, off, retprobe=kind == "uretprobe", **kw)
        from . import kprobe

        if kind.startswith("kprobe.multi") or kind.startswith("kretprobe.multi"):
            return kprobe.attach_kprobe_multi(prog, where.split(","),
                                              retprobe=kind.startswith("kret"), **kw)
        func, _, koff = where.partition("+")
        return kprobe.attach_kprobe(prog, func, int(koff, 0) if koff else 0,
                                    retprobe=kind == "kretprobe", **kw)
    if ptype == ProgType.PERF_EVENT:
        from . import perf

        return perf.attach_perf_event(prog, where or "cpu-clock", **kw)
    if ptype == ProgType.XDP:
        from . import xdp

        return xdp.attach_xdp(prog, kw.pop("dev", where), **kw)
    if ptype == ProgType.SCHED_CLS:
        from . import tcx

        direction = "egress" if "egress" in (section + where) else "ingress"
        return tcx.attach_tcx(prog, kw.pop("dev", where.split("/")[0]), direction)
    if ptype in (ProgType.CGROUP_SKB, ProgType.CGROUP_SOCK, ProgType.CGROUP_SOCK_ADDR,
                 ProgType.CGROUP_DEVICE, ProgType.CGROUP_SYSCTL, ProgType.CGROUP_SOCKOPT,
                 ProgType.SOCK_OPS):
        from . import cgroup

        hook: Any = at if at is not None else (where or "ingress")
        return cgroup.attach_cgroup(prog, kw.pop("cgroup", None) or cgroup.cgroup2_root(), hook)
    if ptype == ProgType.SOCKET_FILTER:
        from . import socket_filter

        if "sock" not in kw:
            raise PybpfError(f"socket filter {spec.name!r}: pass sock= (a socket to filter)")
        return socket_filter.attach_socket_filter(prog, kw["sock"])
    raise PybpfError(f"program {spec.name!r}: don't know how to attach a "
                     f"{ptype.name.lower()} program (section {section!r})")
