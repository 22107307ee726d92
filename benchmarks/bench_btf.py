"""BTF: how fast pybpf answers "what does struct task_struct look like" on this kernel.

Each row is measured in this run (median of several runs); references:

- ``bpftool btf dump file /sys/kernel/btf/vmlinux format c`` piped to
  ``awk '/^struct task_struct {/,/^};/'``:
  the usual way to see one struct; bpftool decodes and prints all ~125k types.
- ``bpftrace -lv 'struct task_struct'``: bpftrace's struct listing (loads BTF too).
- ``bpftool btf dump file /sys/kernel/btf/vmlinux`` (raw, and ``format c``): every
  type, for the bulk rows (pybpf's output is byte-identical to bpftool's in both).

In-process rows time from ``import pybpf.btf`` to the answer in a fresh
interpreter (so imports and the file read are counted, interpreter start is not);
CLI rows time whole processes on both sides. Memory is tracemalloc's peak for the
first lookup (the 5.5 MB BTF blob itself included), against the 30 MB budget.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

VMLINUX = "/sys/kernel/btf/vmlinux"
RUNS = 7
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_FIRST_LOOKUP = """
import time
t = time.perf_counter()
from pybpf.btf import Kind, vmlinux
t1 = time.perf_counter()
b = vmlinux()
tid = b.find({name!r}, Kind.{kind})
f = b.member_path("task_struct", "real_parent.pid")
t2 = time.perf_counter()
print(t2 - t1, t2 - t)
"""

_MEMORY = """
import tracemalloc
tracemalloc.start()
from pybpf.btf import Kind, vmlinux
b = vmlinux()
tid = b.find("task_struct", Kind.STRUCT)
print(b[tid].size, tracemalloc.get_traced_memory()[1])
"""

_BULK = """
import time
from pybpf.btf import vmlinux
from pybpf.btf.jsonfmt import type_raw
t = time.perf_counter()
b = vmlinux()
out = "\\n".join(type_raw(b, i) for i in range(1, b.nr_types))
print(time.perf_counter() - t)
"""


def _py(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, env=env).stdout


def _median_py(code: str, field: int = -1) -> float:
    return statistics.median(float(_py(code).split()[field]) for _ in range(RUNS))


def _wall(cmd: str | list[str], shell: bool = False) -> float:
    def once() -> float:
        t = time.perf_counter()
        subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=_ROOT)
        return time.perf_counter() - t
    return statistics.median(once() for _ in range(RUNS))


def _row(name: str, value: float, unit: str, reference: str, ref_value: float | None) -> dict:
    ratio = round(value / ref_value, 3) if ref_value else ""
    return {"name": name, "value": round(value, 2), "unit": unit, "reference": reference,
            "ratio": ratio}


def run() -> list[dict]:
    if not os.path.exists(VMLINUX):
        return [{"name": "btf", "value": "skipped: no " + VMLINUX, "unit": "", "reference": "",
                 "ratio": ""}]
    rows = []
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    have_bpftool = os.path.exists(bpftool)
    ref_grep = None
    if have_bpftool:
        ref_grep = _wall(f"{bpftool} btf dump file {VMLINUX} format c "
                         "| awk '/^struct task_struct {{/,/^}};/'", shell=True) * 1e3
    ref_txt = "bpftool format c piped to awk (whole process)" if have_bpftool \
        else "bpftool missing"

    code = _FIRST_LOOKUP.format(name="task_struct", kind="STRUCT")
    first = _median_py(code) * 1e3
    rows.append(_row("first struct task_struct lookup + member_path, incl. import", first, "ms",
                     ref_txt, ref_grep))
    after = _median_py(code, 0) * 1e3
    rows.append(_row("same, after import (file read + find + member_path)", after, "ms",
                     "budget 50 ms", 50.0))
    # the last type in the section: the lazy index has to walk every record
    from pybpf.btf import Btf

    last = Btf.from_file(VMLINUX)
    last_name = last[last.nr_types - 1].name
    kind = last[last.nr_types - 1].kind.name
    worst = _median_py(_FIRST_LOOKUP.format(name=last_name, kind=kind)) * 1e3
    rows.append(_row(f"first lookup of the last type ({kind.lower()} {last_name}), "
                     "incl. import", worst, "ms", ref_txt, ref_grep))

    size, peak = _py(_MEMORY).split()
    rows.append(_row("peak traced memory for the first task_struct lookup", int(peak) / 2**20,
                     "MB", "budget 30 MB", 30.0))

    cli = _wall([sys.executable, "-m", "pybpf", "btf", "dump", "--type", "task_struct"]) * 1e3
    rows.append(_row("pybpf btf dump --type task_struct (whole process)", cli, "ms", ref_txt,
                     ref_grep))
    bpftrace = shutil.which("bpftrace")
    if bpftrace:
        ref_bt = _wall([bpftrace, "-lv", "struct task_struct"]) * 1e3
        rows.append(_row("pybpf btf dump --type task_struct (whole process)", cli, "ms",
                         "bpftrace -lv 'struct task_struct' (whole process)", ref_bt))

    header = _wall([sys.executable, "-m", "pybpf", "btf", "dump", "--format", "c"]) * 1e3
    ref_header = _wall([bpftool, "btf", "dump", "file", VMLINUX, "format", "c"]) * 1e3 \
        if have_bpftool else None
    rows.append(_row("pybpf btf dump --format c (whole vmlinux.h, whole process)", header, "ms",
                     "bpftool btf dump file vmlinux format c (whole process)", ref_header))

    bulk = _median_py(_BULK) * 1e3
    ref_bulk = _wall([bpftool, "btf", "dump", "file", VMLINUX]) * 1e3 if have_bpftool else None
    rows.append(_row("decode + format every vmlinux type (raw), in-process", bulk, "ms",
                     "bpftool btf dump file (raw, whole process)", ref_bulk))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
