"""Tracing links on the real kernel: tracepoint, raw_tp, tp_btf, perf events, teardown.

Workloads are deterministic (a child calling getpid() exactly N times) and the
counts exact; every test checks the kernel holds none of its links/programs after.
"""

from __future__ import annotations

import errno
import time

import pytest
from workloads.bpfprogs import count_by_tgid, counts_map, hits_and_sum, stats_map
from workloads.fixtures import count_of, kstate, run_workload, stats_of, workload  # noqa: F401

from pybpf.errors import PybpfError
from pybpf.kernel import tracefs
from pybpf.kernel.links import (
    attach_kprobe,
    attach_perf_event,
    attach_raw_tracepoint,
    attach_tp_btf,
    attach_tracepoint,
    attach_tracing,
    kprobes_available,
)
from pybpf.kernel.teardown import close_links
from pybpf.uapi import AttachType, ProgType

pytestmark = pytest.mark.kernel
SYS_GETPID = 39  # x86-64
N = 1234


def test_tracepoint_counts_getpid_exactly(kstate, workload):  # noqa: F811
    counts = kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.TRACEPOINT))
    with attach_tracepoint(prog, "syscalls:sys_enter_getpid") as link:
        assert link.fd >= 0 and link.info()["prog_id"] == prog.id
        pid, _ = run_workload(workload, "getpid", N)
        pid2, _ = run_workload(workload, "getpid", 7)
    assert count_of(counts, pid) == N
    assert count_of(counts, pid2) == 7
    pid3, _ = run_workload(workload, "getpid", 5)  # detached: not counted
    assert count_of(counts, pid3) == 0


def test_raw_tracepoint_filters_syscall_id(kstate, workload):  # noqa: F811
    counts = kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.RAW_TRACEPOINT, ctx_u64_eq=(8, SYS_GETPID)))
    with attach_raw_tracepoint(prog, "sys_enter"):
        pid, _ = run_workload(workload, "getpid", N)
    assert count_of(counts, pid) == N


def test_tp_btf_counts_getpid(kstate, workload):  # noqa: F811
    from pybpf.btf import Kind, vmlinux

    counts = kstate.map(counts_map())
    btf_id = vmlinux().find("btf_trace_sys_enter", Kind.TYPEDEF)
    spec = count_by_tgid(ProgType.TRACING, ctx_u64_eq=(8, SYS_GETPID),
                         attach_type=AttachType.TRACE_RAW_TP)
    prog = kstate.load(spec, attach_btf_id=btf_id)
    with attach_tp_btf(prog, "sys_enter"):
        pid, _ = run_workload(workload, "getpid", 321)
    assert count_of(counts, pid) == 321


def test_fentry_path_or_skip(kstate):  # noqa: F811
    from pybpf.btf import Kind, vmlinux

    kstate.map(stats_map())
    btf_id = vmlinux().find("do_nanosleep", Kind.FUNC)
    spec = hits_and_sum(ProgType.TRACING, attach_type=AttachType.TRACE_FENTRY)
    try:
        prog = kstate.load(spec, attach_btf_id=btf_id)
    except PybpfError as e:
        pytest.skip(f"fentry programs cannot load on this kernel: {e}")
    with attach_tracing(prog, "do_nanosleep"):
        time.sleep(0.01)
    assert stats_of(kstate.maps["stats"])[0] >= 1


def test_kprobe_path_or_skip(kstate):  # noqa: F811
    if not kprobes_available():
        with pytest.raises(PybpfError, match="no kprobe PMU"):
            attach_kprobe(0, "do_nanosleep")
        pytest.skip("this kernel has no kprobes (no kprobe PMU)")
    kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE))
    with attach_kprobe(prog, "do_nanosleep"):
        time.sleep(0.01)
    assert stats_of(kstate.maps["stats"])[0] >= 1


def test_unknown_tracepoint_is_one_line_error():
    with pytest.raises(PybpfError, match="does not exist") as ei:
        attach_tracepoint(0, "syscalls:sys_enter_nonexistent")
    assert "\n" not in str(ei.value)


def test_perf_event_program_sees_samples(kstate):  # noqa: F811
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.PERF_EVENT))
    with attach_perf_event(prog, "cpu-clock", freq=1000) as link:
        assert len(link) >= 1
        end = time.monotonic() + 0.3
        x = 0
        while time.monotonic() < end:
            x += 1
    hits, _ = stats_of(stats)
    assert 10 <= hits <= 2 * 1000 * len(link)  # ~300 per busy CPU at 1000 Hz


def test_perf_event_context_switches_period(kstate):  # noqa: F811
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.PERF_EVENT))
    with attach_perf_event(prog, "context-switches", period=1):
        for _ in range(20):
            time.sleep(0.001)  # each sleep switches out at least once
    assert stats_of(stats)[0] >= 20


def test_teardown_reaper_and_threads_release_everything(kstate):  # noqa: F811
    kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.TRACEPOINT))
    names = tracefs.list_tracepoints("syscalls:sys_enter_*")[:12]
    for mode in ("reaper", "threads", "sequential"):
        links = [attach_tracepoint(prog, n) for n in names]
        assert len(kstate.our_links()) == len(names)
        handle = close_links(links, mode=mode)
        assert all(link.closed and not link.fds for link in links)
        assert handle.count == 2 * len(names)  # a bpf link + a perf event each
        assert handle.wait(timeout=60)
        assert kstate.our_links() == []


def test_link_close_is_idempotent_and_errors_are_one_line(kstate):  # noqa: F811
    kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.TRACEPOINT))
    link = attach_tracepoint(prog, "syscalls/sys_enter_getppid")
    assert link.target == "syscalls:sys_enter_getppid"
    link.close()
    link.close()
    assert link.closed and link.fds == ()
    with pytest.raises(PybpfError) as ei:
        attach_raw_tracepoint(prog, "no_such_tracepoint_xyz")
    assert "\n" not in str(ei.value)
    assert errno.errorcode  # keep errno imported for readers of this file


def test_attach_picks_the_kind_from_the_spec(kstate, workload):  # noqa: F811
    from pybpf.kernel.links import attach
    from pybpf.kernel.links.tracepoint import TracepointLink

    counts = kstate.map(counts_map())
    spec = count_by_tgid(ProgType.TRACEPOINT, section="tracepoint/syscalls/sys_enter_getpid")
    prog = kstate.load(spec)
    with attach(prog) as link:
        assert isinstance(link, TracepointLink)
        assert link.target == "syscalls:sys_enter_getpid"
        pid, _ = run_workload(workload, "getpid", 9)
    assert count_of(counts, pid) == 9
    spec = hits_and_sum(ProgType.KPROBE)
    spec.section, spec.attach_to = "uretprobe", f"{workload}:pybpf_target"
    kstate.map(stats_map())
    uprog = kstate.load(spec)
    with attach(uprog) as link:
        assert link.kind == "uretprobe"
        run_workload(workload, "func", 3)
    assert stats_of(kstate.maps["stats"])[0] == 3


def test_perf_event_page_faults_of_own_thread(kstate):  # noqa: F811
    import mmap
    import os

    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.PERF_EVENT))
    pages = 200
    with attach_perf_event(prog, "page-faults", period=1, pid=os.getpid()) as link:
        assert len(link) == 1  # one event following this thread on any CPU
        buf = mmap.mmap(-1, pages * mmap.PAGESIZE)
        for i in range(pages):
            buf[i * mmap.PAGESIZE] = 1  # first touch of each page faults
        buf.close()
    assert stats_of(stats)[0] >= pages


def test_btf_target_ids():
    from pybpf.btf import Kind, vmlinux
    from pybpf.kernel.links import attach_btf_id

    btf = vmlinux()
    assert attach_btf_id(AttachType.TRACE_ITER, "task") == btf.find("bpf_iter_task", Kind.FUNC)
    assert attach_btf_id(AttachType.TRACE_RAW_TP, "tp_btf/sched_switch") == btf.find(
        "btf_trace_sched_switch", Kind.TYPEDEF)
    with pytest.raises(PybpfError, match="no func 'no_such_fn_xyz'"):
        attach_btf_id(AttachType.TRACE_FENTRY, "no_such_fn_xyz")


def test_perf_event_attr_matches_uapi_layout():
    from pybpf.kernel import perf_event as pe

    offsets = {name: getattr(pe.PerfEventAttr, name).offset for name, _ in
               pe.PerfEventAttr._fields_}
    assert offsets["config"] == 8 and offsets["flags"] == 40 and offsets["config1"] == 56
    assert offsets["config2"] == 64 and offsets["clockid"] == 92 and offsets["config3"] == 128
    assert pe.parse_cpu_list("0-3,5,7-8") == [0, 1, 2, 3, 5, 7, 8]
    assert pe.parse_cpu_list("0") == [0]


def test_pinned_link_outlives_its_object(kstate, workload):  # noqa: F811
    import os

    from pybpf.kernel.pin import ensure_bpffs

    counts = kstate.map(counts_map())
    prog = kstate.load(count_by_tgid(ProgType.TRACEPOINT))
    path = os.path.join(ensure_bpffs(), f"pybpf_test_link_{os.getpid()}")
    link = attach_tracepoint(prog, "syscalls:sys_enter_getpid")
    try:
        link.pin(path)
        link.close()  # the pin keeps it attached
        assert len(kstate.our_links()) == 1
        pid, _ = run_workload(workload, "getpid", 11)
        assert count_of(counts, pid) == 11
    finally:
        os.unlink(path)
    assert kstate.our_links() == []
