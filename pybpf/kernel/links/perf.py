"""Programs on perf events: the common step of tracepoint, k/uprobe and sampling links.

Since 5.15 a bpf link (BPF_LINK_CREATE, attach type BPF_PERF_EVENT) owns the
attachment; older kernels take PERF_EVENT_IOC_SET_BPF. Either way the link
owns the perf event fd, so closing the link removes the probe.
"""

from __future__ import annotations

import errno
import os

from ...errors import PybpfError
from ...uapi import AttachType, Cmd
from .. import perf_event as pe
from ..syscall import LinkCreateAttr, bpf_raw
from .base import Link, MultiLink, attach_each, attach_errno, bpf_failure, prog_fd_of

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_use_link: bool | None = None  # learned on first use: does BPF_LINK_CREATE take perf events?
_NO_PERF_LINKS = (errno.EINVAL, errno.EOPNOTSUPP, 524)  # 524: ENOTSUPP (kernel-internal)


class PerfEventLink(Link):
    kind = "perf_event"


def attach_perf_fd(prog: Any, pfd: int, target: str, *, cookie: int = 0,
                   cls: type[Link] = PerfEventLink, hint: str = "") -> Link:
    """Attach ``prog`` to the open perf event ``pfd``; the returned link owns ``pfd``."""
    global _use_link
    try:
        prog_fd = prog_fd_of(prog)
    except PybpfError:
        os.close(pfd)
        raise
    if _use_link is not False:
        attr = LinkCreateAttr(prog_fd=prog_fd, target_fd=pfd, attach_type=AttachType.PERF_EVENT)
        attr.perf_event.bpf_cookie = cookie
        lfd, err = bpf_raw(Cmd.LINK_CREATE, attr)
        if not err:
            _use_link = True
            link = cls(target, [pfd], link_fd=lfd)  # owns pfd from here on
            try:
                pe.enable(pfd)
            except OSError as e:
                link.close()
                raise attach_errno(target, e, hint) from None
            return link
        if _use_link or err not in _NO_PERF_LINKS:
            os.close(pfd)
            raise bpf_failure(Cmd.LINK_CREATE, err, f"attach {target}", hint)
    try:
        pe.set_bpf(pfd, prog_fd)
        pe.enable(pfd)
    except OSError as e:
        os.close(pfd)
        raise attach_errno(target, e, hint) from None
    _use_link = False  # learned only once the old way worked: a bad prog fd proves nothing
    return cls(target, [pfd])


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

    def on_cpu(cpu: int) -> Link:
        pfd = pe.open_software(config, cpu, freq=freq, period=period, pid=pid,
                               what=f"{name} on cpu {cpu}")
        return attach_perf_fd(prog, pfd, f"{name}/cpu{cpu}")

    cpu_list = cpus if cpus is not None else (pe.online_cpus() if pid < 0 else [-1])
    return SampleLink(name, attach_each(cpu_list, on_cpu))
