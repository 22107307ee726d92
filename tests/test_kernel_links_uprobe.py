"""uprobe / uretprobe / uprobe_multi / USDT on a gcc-built workload, with exact counts."""

from __future__ import annotations

import pytest
from workloads.bpfprogs import hits_and_sum, stats_map
from workloads.fixtures import kstate, run_workload, stats_of, workload  # noqa: F401

from pybpf.errors import PybpfError
from pybpf.kernel.links import (
    attach_uprobe,
    attach_uprobe_multi,
    attach_uprobes,
    attach_usdt,
)
from pybpf.symbols import find_probes, uprobe_offset
from pybpf.symbols.usdt import PT_REGS_X86_64
from pybpf.uapi import AttachType, ProgType

pytestmark = pytest.mark.kernel
DI, AX = PT_REGS_X86_64["di"], PT_REGS_X86_64["ax"]


def test_uprobe_counts_calls_and_reads_first_arg(kstate, workload):  # noqa: F811
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE, ctx_off=DI, sign32=True))
    with attach_uprobe(prog, workload, "pybpf_target") as link:
        assert link.kind == "uprobe"
        run_workload(workload, "func", 500)
    assert stats_of(stats) == (500, sum(range(500)))


def test_uretprobe_sees_return_values(kstate, workload):  # noqa: F811
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE, ctx_off=AX, sign32=True))
    with attach_uprobe(prog, workload, "pybpf_target", retprobe=True) as link:
        assert link.kind == "uretprobe"
        _, out = run_workload(workload, "func", 300)
    hits, total = stats_of(stats)
    assert hits == 300
    assert total == int(out) == sum(3 * i + 1 for i in range(300))


def test_uprobe_pid_filter(kstate, workload):  # noqa: F811
    import os

    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE))
    with attach_uprobe(prog, workload, "pybpf_target", pid=os.getpid()):
        run_workload(workload, "func", 50)  # another process: filtered out
    assert stats_of(stats)[0] == 0


def test_uprobe_multi_link(kstate, workload):  # noqa: F811
    stats = kstate.map(stats_map())
    spec = hits_and_sum(ProgType.KPROBE, ctx_off=DI, sign32=True,
                        attach_type=AttachType.TRACE_UPROBE_MULTI)
    try:
        prog = kstate.load(spec)
    except PybpfError as e:
        pytest.skip(f"uprobe_multi programs cannot load here: {e}")
    _, off = uprobe_offset(workload, "pybpf_target")
    with attach_uprobe_multi(prog, workload, [off]) as link:
        assert link.fd >= 0
        run_workload(workload, "func", 77)
    assert stats_of(stats) == (77, sum(range(77)))


def test_uprobes_several_symbols(kstate, workload):  # noqa: F811
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE))
    with attach_uprobes(prog, workload, ["pybpf_target", "main"]) as link:
        assert len(link) == 2
        run_workload(workload, "func", 10)
    assert stats_of(stats)[0] == 11


def test_usdt_fires_n_times_with_semaphore_and_args(kstate, workload):  # noqa: F811
    probe, = find_probes(workload, "pybpf", "tick")
    assert probe.semaphore and probe.semaphore_offset
    arg0 = probe.args[0]
    assert arg0.kind == "reg" and arg0.size == 4 and arg0.signed
    _, out = run_workload(workload, "usdt", 40)
    assert int(out) == 0  # nobody attached: the semaphore is 0, the guarded site is skipped
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.KPROBE, ctx_off=arg0.pt_regs_offset, sign32=True))
    with attach_usdt(prog, workload, "pybpf", "tick") as link:
        assert len(link) == 1
        _, out = run_workload(workload, "usdt", 250)
    assert int(out) == 250  # the kernel raised the semaphore while attached
    assert stats_of(stats) == (250, sum(range(250)))


def test_missing_symbol_and_probe_are_one_line_errors(workload):  # noqa: F811
    with pytest.raises(PybpfError, match="no symbol 'nope'"):
        attach_uprobe(0, workload, "nope")
    with pytest.raises(PybpfError, match="no such probe"):
        attach_usdt(0, workload, "pybpf", "nope")
