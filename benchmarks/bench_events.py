"""Event streams and teardown on the real kernel.

Rows:
- ring buffer drain: 1,000,000 16-byte records (written by a BPF program run with
  BPF_PROG_TEST_RUN ``repeat``) into Python tuples, and into bytes; reference: the
  2,000,000 records/s target.
- ring buffer streaming: producer (test_run in a thread) and consumer (poll) at once.
- perf buffer drain: 400,000 records from one CPU's ring into tuples.
- teardown of 360 ``syscalls:sys_enter_*`` tracepoint links: the caller's wait with
  the reaper, the kernel's total with threads, one-by-one close; reference: the exit
  of ``bpftrace -e 'tracepoint:syscalls:sys_enter_* {...} interval:s:1 { exit(); }'``
  measured in the same run (from its first closed probe fd to its end).

``PYBPF_BENCH_QUICK=1`` shrinks the teardown part to 60 probes and skips bpftrace.
Needs root. The BPF programs come from ``tests/workloads/bpfprogs.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 2_000_000.0
PACKET = bytes(64)
BPFTRACE_SCRIPT = ("tracepoint:syscalls:sys_enter_* { @[probe] = count(); } "
                   "interval:s:1 { exit(); }")


def _row(name: str, value: float, unit: str, reference: str, ref_value: float) -> dict[str, Any]:
    """ratio = ours / reference, as in every benchmark (a rate: higher is better; a time:
    lower is better)."""
    ratio = value / ref_value if value and ref_value else float("nan")
    return {"name": name, "value": value, "unit": unit, "reference": reference, "ratio": ratio}


def _setup() -> tuple[Any, Any, Any, Any]:
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from workloads import bpfprogs

    from pybpf.kernel.maps import create_map
    from pybpf.kernel.programs import load_program

    return bpfprogs, create_map, load_program, None


def bench_ringbuf() -> list[dict[str, Any]]:
    from pybpf.kernel.ringbuf import RingBuffer
    from pybpf.spec import MapSpec
    from pybpf.uapi import MapType

    bp, create_map, load_program, _ = _setup()
    n = 1_000_000
    rows = []
    stats = create_map(bp.stats_map())
    ring = create_map(MapSpec("events", MapType.RINGBUF, 0, 0, 32 << 20))
    prog = load_program(bp.ringbuf_seq(), {"stats": stats, "events": ring})
    try:
        for label, fmt in (("tuples", "QQ"), ("bytes", None)):
            with RingBuffer(ring, record=fmt) as rb:
                prog.test_run(PACKET, repeat=n)
                t = time.perf_counter()
                recs = rb.drain()
                dt = time.perf_counter() - t
                assert len(recs) == n, len(recs)
            rows.append(_row(f"ringbuf drain 1M x 16B -> {label}", n / dt, "records/s",
                             "target 2,000,000 records/s", TARGET))
        # streaming: the producer runs while we consume
        total, chunk = 2_000_000, 50_000
        got = 0
        with RingBuffer(ring, record="QQ") as rb:
            def produce() -> None:
                for _ in range(total // chunk):
                    while rb.available() > (24 << 20):  # keep room: never drop
                        time.sleep(0.0005)
                    prog.test_run(PACKET, repeat=chunk)

            th = threading.Thread(target=produce)
            t = time.perf_counter()
            th.start()
            while got < total:
                got += len(rb.read())
                if got < total and not rb.available():
                    rb.wait(0.01)
            dt = time.perf_counter() - t
            th.join()
        rows.append(_row("ringbuf streaming 2M (producer+consumer)", total / dt, "records/s",
                         "target 2,000,000 records/s", TARGET))
    finally:
        prog.close()
        ring.close()
        stats.close()
    return rows


def bench_perfbuf() -> list[dict[str, Any]]:
    from pybpf.kernel.perf_event import possible_cpus
    from pybpf.kernel.perfbuf import PerfBuffer
    from pybpf.spec import MapSpec
    from pybpf.uapi import MapType

    bp, create_map, load_program, _ = _setup()
    n = 400_000
    stats = create_map(bp.stats_map())
    pm = create_map(MapSpec("events", MapType.PERF_EVENT_ARRAY, 4, 4, possible_cpus()))
    prog = load_program(bp.ringbuf_seq(perf=True), {"stats": stats, "events": pm})
    try:
        with PerfBuffer(pm, pages=4096, record="QQ") as pb:
            prog.test_run(PACKET, repeat=n)
            t = time.perf_counter()
            recs = pb.drain()
            dt = time.perf_counter() - t
            assert len(recs) == n and pb.lost == 0, (len(recs), pb.lost)
    finally:
        prog.close()
        pm.close()
        stats.close()
    return [_row("perfbuf drain 400k x 16B -> tuples", n / dt, "records/s",
                 "target 2,000,000 records/s", TARGET)]


def _bpftrace_exit_seconds() -> float | None:
    """Seconds from bpftrace's first probe teardown to its exit (fd count polled)."""
    exe = shutil.which("bpftrace")
    if not exe:
        return None
    p = subprocess.Popen([exe, "-e", BPFTRACE_SCRIPT], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    peak, detach_start = 0, None
    fd_dir = f"/proc/{p.pid}/fd"
    while p.poll() is None:
        try:
            n = len(os.listdir(fd_dir))
        except OSError:
            break
        if n > peak:
            peak = n
        elif peak > 300 and n < peak and detach_start is None:
            detach_start = time.monotonic()
        time.sleep(0.005)
    p.wait()
    end = time.monotonic()
    return end - detach_start if detach_start is not None else None


def bench_teardown() -> list[dict[str, Any]]:
    from pybpf.kernel import tracefs
    from pybpf.kernel.links import attach_tracepoint
    from pybpf.kernel.teardown import close_links

    bp, create_map, load_program, _ = _setup()
    quick = os.environ.get("PYBPF_BENCH_QUICK") == "1"
    names = tracefs.list_tracepoints("syscalls:sys_enter_*")
    if quick:
        names = names[:60]
    counts = create_map(bp.counts_map())
    prog = load_program(bp.count_by_tgid(bp.ProgType.TRACEPOINT), {"counts": counts})
    timings: dict[str, float] = {}
    try:
        for mode in ("reaper", "threads", "sequential"):
            links = [attach_tracepoint(prog, n) for n in names]
            t = time.perf_counter()
            handle = close_links(links, mode=mode)
            timings[mode] = time.perf_counter() - t
            handle.wait()
            timings[mode + "_total"] = time.perf_counter() - t
    finally:
        prog.close()
        counts.close()
    ref = None if quick else _bpftrace_exit_seconds()
    ref_value = ref or timings["sequential"]
    ref_name = (f"bpftrace exit after {len(names)} probes {ref_value:.1f} s" if ref else
                f"one-by-one close of {len(names)} probes {ref_value:.1f} s")
    n = len(names)
    return [
        _row(f"detach {n} tracepoints: reaper (caller waits)", timings["reaper"], "s", ref_name,
             ref_value),
        _row(f"detach {n} tracepoints: reaper (kernel done)", timings["reaper_total"], "s",
             ref_name, ref_value),
        _row(f"detach {n} tracepoints: threads", timings["threads"], "s", ref_name, ref_value),
        _row(f"detach {n} tracepoints: one by one", timings["sequential"], "s", ref_name,
             ref_value),
    ]


def run() -> list[dict[str, Any]]:
    if os.geteuid() != 0:
        return [{"name": "skipped", "value": "needs root", "unit": "", "reference": "",
                 "ratio": ""}]
    return bench_ringbuf() + bench_perfbuf() + bench_teardown()


if __name__ == "__main__":
    for r in run():
        print(r)
