"""Programs on perf events: the common step of tracepoint, k/uprobe and sampling links.

Since 5.15 a bpf link (BPF_LINK_CREATE, attach type BPF_PERF_EVENT) owns the
attachment; older kernels take PERF_EVENT_IOC_SET_BPF. Either way the link
owns the perf event fd, so closing the link removes the probe.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from ...errors import PybpfError
from ...uapi import AttachType
from .. import perf_event as pe
from . import _sys
from .base import Link, MultiLink, attach_errno, prog_fd_of

_use_link: bool | None = None  # learned on first use: does BPF_LINK_CREATE take perf events?


class PerfEventLink(Link):
    kind = "perf_event"


def attach_perf_fd(prog: Any, pfd: int, target: str, *, cookie: int = 0,
                   cls: type[Link] = PerfEventLink, hint: str = "") -> Link:
    """Attach ``prog`` to the open perf event ``pfd``; the returned link owns ``pfd``."""
    global _use_link
    prog_fd = prog_fd_of(prog)
    try:
        if _use_link is not False:
            try:
                lfd = _sys.link_create(prog_fd, pfd, AttachType.PERF_EVENT, 0,
                                       struct.pack("<Q", cookie))
                _use_link = True
                link = cls(target, [pfd], link_fd=lfd)
                pe.enable(pfd)
                return link
            except OSError as e:
                if _use_link or e.errno not in (22, 95, 524):  # EINVAL/EOPNOTSUPP/ENOTSUPP
                    raise
                _use_link = False
        pe.set_bpf(pfd, prog_fd)
        pe.enable(pfd)
        return cls(target, [pfd])
    except OSError as e:
        os.close(pfd)
        raise attach_errno(target, e, hint) from None


class SampleLink(MultiLink):
    kind = "perf_event"


def attach_perf_event(prog: Any, event: str | int = "cpu-clock", *, freq: int = 0,
                      period: int = 0, cpus: list[int] | None = None, pid: int = -1) -> MultiLink:
    """Run a BPF_PROG_TYPE_PERF_EVENT program on a software event on every CPU.

    ``event`` is a name (``cpu-clock``, ``page-faults``, ``context-switches``...) or a
    PERF_COUNT_SW_* number; sample at ``freq`` Hz or every ``period`` events.
    """
    if isinstance(event, str):
        try:
            config = pe.SOFTWARE_EVENTS[event]
        except KeyError:
            raise PybpfError(f"unknown software event {event!r}; choose one of "
                             + ", ".join(sorted(pe.SOFTWARE_EVENTS))) from None
        name = event
    else:
        config, name = event, f"software:{event}"
    if not freq and not period:
        freq = 99 if config in (pe.SW_CPU_CLOCK, pe.SW_TASK_CLOCK) else 0
        period = 0 if freq else 1
    links: list[Link] = []
    try:
        for cpu in (cpus if cpus is not None else (pe.online_cpus() if pid < 0 else [-1])):
            pfd = pe.open_software(config, cpu, freq=freq, period=period, pid=pid,
                                   what=f"{name} on cpu {cpu}")
            links.append(attach_perf_fd(prog, pfd, f"{name}/cpu{cpu}"))
    except BaseException:
        for link in links:
            link.close()
        raise
    return SampleLink(name, links)
