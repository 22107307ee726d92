"""Event streams and iterators on the real kernel: ring buffer, perf buffer, iter/task.

Records come from a BPF program run by BPF_PROG_TEST_RUN ``repeat`` times, each
run emitting {u64 seq; u64 ~seq}, so the tests check every record, in order.
"""

from __future__ import annotations

import os
import struct
import subprocess

import pytest
from workloads.bpfprogs import (
    iter_task_pids,
    ringbuf_reserve_discard_odd,
    ringbuf_seq,
    stats_map,
)
from workloads.fixtures import kstate, stats_of  # noqa: F401

from pybpf.errors import PybpfError
from pybpf.kernel.links import attach_iter
from pybpf.kernel.perf_event import possible_cpus
from pybpf.kernel.perfbuf import PerfBuffer
from pybpf.kernel.ringbuf import RingBuffer
from pybpf.spec import MapSpec
from pybpf.uapi import MapType

pytestmark = pytest.mark.kernel
PACKET = bytes(64)
MASK = (1 << 64) - 1


def _ringbuf(size: int) -> MapSpec:
    return MapSpec("events", MapType.RINGBUF, 0, 0, size)


def test_ringbuf_million_events_nothing_lost(kstate):  # noqa: F811
    n = 1_000_000
    kstate.map(stats_map())
    rb_map = kstate.map(_ringbuf(32 << 20))  # 24 bytes a record: all fit
    prog = kstate.load(ringbuf_seq())
    with RingBuffer(rb_map, record="QQ") as rb:
        prog.test_run(PACKET, repeat=n)
        recs = rb.drain()
        assert rb.consumed == n and rb.available() == 0
    assert len(recs) == n
    assert [r[0] for r in recs] == list(range(n))
    assert all(b == ~a & MASK for a, b in recs[:: 997])
    assert stats_of(kstate.maps["stats"]) == (n, 0)  # no output failed


def test_ringbuf_overfill_reports_exact_drops(kstate):  # noqa: F811
    runs, size = 1000, 4 * 4096
    stats = kstate.map(stats_map())
    rb_map = kstate.map(_ringbuf(size))
    prog = kstate.load(ringbuf_seq())
    seen: list[list[tuple[int, int]]] = []
    with RingBuffer(rb_map, seen.append, record="QQ") as rb:
        prog.test_run(PACKET, repeat=runs)
        assert rb.poll(timeout=1) == size // 24
    got = [r[0] for batch in seen for r in batch]
    hits, dropped = stats_of(stats)
    assert hits == runs
    assert got == list(range(size // 24))  # the first ones, in order
    assert dropped == runs - size // 24  # exactly what did not fit


def test_ringbuf_discarded_records_are_skipped(kstate):  # noqa: F811
    kstate.map(stats_map())
    rb_map = kstate.map(_ringbuf(1 << 16))
    prog = kstate.load(ringbuf_reserve_discard_odd())
    with RingBuffer(rb_map, record="QQ") as rb:
        prog.test_run(PACKET, repeat=500)
        recs = rb.drain()
        assert rb.discarded == 250
    assert [r[0] for r in recs] == list(range(0, 500, 2))
    with RingBuffer(rb_map) as rb:  # untyped: raw bytes
        prog.test_run(PACKET, repeat=10)
        raw = rb.drain()
    assert [struct.unpack("<Q", r[:8])[0] for r in raw] == list(range(500, 510, 2))
    assert all(len(r) == 16 for r in raw)


def test_ringbuf_wraps_around(kstate):  # noqa: F811
    kstate.map(stats_map())
    rb_map = kstate.map(_ringbuf(4096))
    prog = kstate.load(ringbuf_seq())
    got: list[int] = []
    with RingBuffer(rb_map, record="QQ") as rb:
        for _ in range(30):  # 30 x 100 records through a 170-record ring
            prog.test_run(PACKET, repeat=100)
            got.extend(r[0] for r in rb.drain())
    assert got == list(range(3000))
    assert stats_of(kstate.maps["stats"])[1] == 0


def test_ringbuf_rejects_other_maps_and_poll_without_callback(kstate):  # noqa: F811
    m = kstate.map(stats_map())
    with pytest.raises(PybpfError, match="not a ring buffer"):
        RingBuffer(m)
    with RingBuffer(kstate.map(_ringbuf(4096))) as rb:
        with pytest.raises(ValueError, match="callback"):
            rb.poll(0)
        assert rb.wait(0) is False and rb.read() == []


def test_readers_take_a_raw_map_fd(kstate):  # noqa: F811
    """A bare fd works too: type and size come from BPF_OBJ_GET_INFO_BY_FD."""
    m = kstate.map(stats_map())
    with pytest.raises(PybpfError, match=rf"map fd {m.fd} is not a ring buffer \(type {m.type}\)"):
        RingBuffer(m.fd)
    with pytest.raises(PybpfError, match=rf"map fd {m.fd} is not a perf event array"):
        PerfBuffer(m.fd)
    rm = kstate.map(MapSpec("ring", MapType.RINGBUF, 0, 0, 8192))
    with RingBuffer(rm.fd) as rb:
        assert (rb.fd, rb.size, rb.mask) == (rm.fd, 8192, 8191)
    pm = kstate.map(_perf_map())
    prog = kstate.load(ringbuf_seq(perf=True))
    with PerfBuffer(pm.fd, pages=8, record="QQ") as pb:
        prog.test_run(PACKET, repeat=10)
        assert sorted(r[0] for r in pb.drain()) == list(range(10))


def _perf_map() -> MapSpec:
    return MapSpec("events", MapType.PERF_EVENT_ARRAY, 4, 4, possible_cpus())


def test_perfbuf_receives_every_sample(kstate):  # noqa: F811
    n = 20_000
    kstate.map(stats_map())
    pm = kstate.map(_perf_map())
    prog = kstate.load(ringbuf_seq(perf=True))
    batches: dict[int, list[tuple[int, int]]] = {}
    with PerfBuffer(pm, lambda cpu, recs: batches.setdefault(cpu, []).extend(recs),
                    pages=512, record="QQ") as pb:
        prog.test_run(PACKET, repeat=n)
        assert pb.consume() == n
        assert pb.lost == 0
    recs = [r for cpu in batches for r in batches[cpu]]
    assert sorted(r[0] for r in recs) == list(range(n))
    assert all(b == ~a & MASK for a, b in recs)
    assert stats_of(kstate.maps["stats"]) == (n, 0)


def test_perfbuf_counts_lost_samples(kstate):  # noqa: F811
    runs = 1000
    stats = kstate.map(stats_map())
    pm = kstate.map(_perf_map())
    prog = kstate.load(ringbuf_seq(perf=True))
    lost_reports: list[tuple[int, int]] = []
    with PerfBuffer(pm, pages=1, lost_callback=lambda c, k: lost_reports.append((c, k))) as pb:
        prog.test_run(PACKET, repeat=runs)
        first = pb.drain()
        prog.test_run(PACKET, repeat=1)  # space again: the kernel reports the loss first
        second = pb.drain()
    _, failed = stats_of(stats)
    assert failed > 0
    assert pb.lost == failed == sum(k for _, k in lost_reports)
    assert len(first) + len(second) + pb.lost == runs + 1
    assert all(len(r) == 20 for r in first)  # 16 bytes + the kernel's padding


def test_iter_task_lists_own_pid(kstate):  # noqa: F811
    from pybpf.btf import Kind, vmlinux

    btf = vmlinux()
    task = btf.find("task_struct", Kind.STRUCT)
    pid_off = btf.member(task, "pid").bit_offset // 8
    tgid_off = btf.member(task, "tgid").bit_offset // 8
    prog = kstate.load(iter_task_pids(pid_off, tgid_off),
                       attach_btf_id=btf.find("bpf_iter_task", Kind.FUNC))
    child = subprocess.Popen(["sleep", "30"])
    try:
        with attach_iter(prog, "task") as link:
            out = link.read()
            child.kill()
            child.wait()
            again = link.read()
    finally:
        child.kill()
    pairs = set(struct.iter_unpack("<II", out))
    assert (os.getpid(), os.getpid()) in pairs
    assert (child.pid, child.pid) in pairs
    assert (child.pid, child.pid) not in set(struct.iter_unpack("<II", again))  # runs anew


def test_ringbuf_concurrent_producer_across_wraps(kstate):  # noqa: F811
    """A producer thread and the reader at once, through a small ring many times over:
    the consumer position must reach the kernel whole (a torn write drops records)."""
    import threading
    import time

    size, rounds, chunk = 1 << 16, 200, 1000
    stats = kstate.map(stats_map())
    rb_map = kstate.map(_ringbuf(size))
    prog = kstate.load(ringbuf_seq())
    got: list[int] = []
    with RingBuffer(rb_map, record="QQ") as rb:
        done = threading.Event()

        def produce() -> None:
            try:
                for _ in range(rounds):
                    while rb.available() > size // 2:
                        time.sleep(0.0002)
                    prog.test_run(PACKET, repeat=chunk)
            finally:
                done.set()

        th = threading.Thread(target=produce)
        th.start()
        while not done.is_set() or rb.available():
            got.extend(r[0] for r in rb.read())
            if not rb.available():
                rb.wait(0.005)
        th.join()
        got.extend(r[0] for r in rb.read())
    assert stats_of(stats)[1] == 0  # nothing dropped
    assert got == list(range(rounds * chunk))
