"""What every link kind shares: bpf() errors through kernel/syscall.py, all-or-nothing
multi-attach, and the perf-event link path surviving a bad program fd."""

from __future__ import annotations

import errno

import pytest
from workloads.bpfprogs import count_by_tgid, counts_map
from workloads.fixtures import kstate  # noqa: F401

from pybpf.errors import PybpfError
from pybpf.kernel.errors import BpfError, BpfInvalid
from pybpf.kernel.links import attach_raw_tracepoint, attach_tracepoint
from pybpf.kernel.links.base import Link, attach_each, bpf_failure
from pybpf.uapi import Cmd, ProgType


def test_bpf_failure_names_the_action_and_keeps_errno_and_hint() -> None:
    e = bpf_failure(Cmd.LINK_CREATE, errno.EBUSY, "attach xdp eth0", "another XDP program")
    assert isinstance(e, BpfError) and e.errno == errno.EBUSY and e.cmd == Cmd.LINK_CREATE
    assert str(e) == ("attach xdp eth0: busy (something else is attached there) "
                      "(another XDP program)")
    e = bpf_failure(Cmd.RAW_TRACEPOINT_OPEN, errno.EINVAL, "attach raw tracepoint x")
    assert type(e) is BpfInvalid
    assert str(e) == "attach raw tracepoint x: invalid argument: the kernel rejected an argument"


def test_attach_each_closes_what_it_made_when_one_fails() -> None:
    made: list[Link] = []

    def one(i: int) -> Link:
        if i == 3:
            raise PybpfError("boom at 3")
        made.append(Link(f"t{i}"))
        return made[-1]

    assert [link.target for link in attach_each(range(3), one)] == ["t0", "t1", "t2"]
    made.clear()
    with pytest.raises(PybpfError, match="boom at 3"):
        attach_each(range(5), one)
    assert [link.closed for link in made] == [True, True, True]


@pytest.mark.kernel
def test_bad_prog_fd_is_one_line_bpf_error_and_links_still_work(kstate):  # noqa: F811
    with pytest.raises(BpfError) as ei:
        attach_raw_tracepoint(0, "sys_enter")  # fd 0 is not a program
    assert ei.value.errno and ei.value.cmd == Cmd.RAW_TRACEPOINT_OPEN
    assert str(ei.value).startswith("attach raw tracepoint sys_enter: ")
    assert "\n" not in str(ei.value)
    with pytest.raises(PybpfError):
        attach_tracepoint(0, "syscalls:sys_enter_getppid")
    # the failure above must not switch perf events to the pre-link (ioctl) path
    kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.TRACEPOINT))
    with attach_tracepoint(prog, "syscalls:sys_enter_getppid") as link:
        assert link.fd >= 0 and link.info()["prog_id"] == prog.id
