"""Object loader: load-to-attached for a libbpf-tools-sized object vs opensnoop's start-up.

The object is tests/bpf/opensnoop.bpf.c (our own, shaped like libbpf-tools' opensnoop:
two syscall tracepoint pairs, a hash map, a ring buffer, rodata filters, CO-RE reads),
built with clang. Rows (best of a few runs, all measured in this run):
- a fresh ``python3`` process (bytecode cached, as installed: see ``_env``) that
  parses the object, loads it and attaches every program, then prints a header
  line: time until that line, vs the time /usr/sbin/opensnoop (libbpf-tools,
  C + libbpf) takes to print its header;
- the same steps inside a warm process (imports and vmlinux BTF already cached), vs
  the same reference;
- parse only (object -> CollectionSpec with CO-RE resolved), vs the same reference.
Needs root, clang and /usr/sbin/opensnoop; otherwise one row says why.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from typing import Any

from ._env import ENV

OPENSNOOP = "/usr/sbin/opensnoop"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = """
import sys
from pybpf.elf import load_collection_spec
spec = load_collection_spec(sys.argv[1])
coll = spec.load()
coll.attach_all()
print("PID    COMM              FD ERR PATH", flush=True)
sys.stdin.readline()
coll.close()
"""


def _first_line_time(cmd: list[str]) -> float:
    """Seconds from spawn until the process prints its first stdout line."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=ENV)
    assert p.stdout is not None
    ready = select.select([p.stdout], [], [], 30)[0]
    line = p.stdout.readline() if ready else ""
    dt = time.perf_counter() - t
    p.terminate()
    p.communicate(timeout=30)
    if not line:
        raise RuntimeError(f"{cmd[0]} printed nothing")
    return dt


def _best(fn: Any, repeat: int = 3) -> float:
    return min(fn() for _ in range(repeat))


def _row(name: str, value: float, reference: str, ref: float) -> dict[str, Any]:
    return {"name": name, "value": value * 1e3, "unit": "ms",
            "reference": f"{reference} {ref * 1e3:.1f} ms", "ratio": value / ref}


def run() -> list[dict[str, Any]]:
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from bpf.build import build, missing

    why = missing() or (None if os.path.exists(OPENSNOOP) else f"{OPENSNOOP} not installed")
    if why is None and os.geteuid() != 0:
        why = "needs root"
    if why:
        return [{"name": "skipped", "value": why, "unit": "", "reference": "", "ratio": ""}]
    obj = build("opensnoop")
    # opensnoop's stdout is block-buffered into a pipe: its header would only arrive with
    # 4 KiB of events. Line-buffer it (as on a terminal) so the header is timed.
    ref_cmd = ["stdbuf", "-oL", OPENSNOOP] if shutil.which("stdbuf") else [OPENSNOOP]
    ref = _best(lambda: _first_line_time(ref_cmd))
    _first_line_time([sys.executable, "-c", CHILD, obj])  # warm-up: fills the bytecode cache
    cold = _best(lambda: _first_line_time([sys.executable, "-c", CHILD, obj]))

    from pybpf.elf import load_collection_spec

    def warm() -> float:
        t = time.perf_counter()
        spec = load_collection_spec(obj)
        coll = spec.load()
        coll.attach_all()
        dt = time.perf_counter() - t
        coll.close()
        return dt

    def parse() -> float:
        t = time.perf_counter()
        load_collection_spec(obj)
        return time.perf_counter() - t

    warm()  # caches vmlinux BTF and imports
    return [
        _row("load_to_attached_cold_process", cold, "opensnoop header", ref),
        _row("load_to_attached_warm", _best(warm, 5), "opensnoop header", ref),
        _row("parse_object_with_core", _best(parse, 5), "opensnoop header", ref),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
