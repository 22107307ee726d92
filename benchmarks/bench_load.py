"""Object loader: load-to-attached for libbpf-tools-sized objects vs opensnoop's start-up.

Objects (our own C, built with clang): tests/bpf/procstat.bpf.c, the size the issue
names (5 programs on process-lifecycle tracepoints, 2,750 instructions, 5 BTF maps plus
global data, 232 CO-RE relocations), and tests/bpf/opensnoop.bpf.c (opensnoop's shape:
4 syscall tracepoints, 250 instructions, 7 CO-RE relocations).

The references are libbpf-tools binaries (C + libbpf, their own CO-RE objects): the time
until they print their header, which they do once their programs are attached,
line-buffered as on a terminal: /usr/sbin/opensnoop (the fastest of them here) for every
row, and /usr/sbin/runqlat (the issue's other named reference) for the headline row.
Rows (ratio = ours / reference, best of 11 runs, all in this run; the headline also
as medians):
- a fresh process of a pip-style install (``_env.installed_venv``: a venv with a plain
  copy of pybpf and the console script pip writes) that parses the object, loads it,
  attaches every program and prints a header line, as a tool built on pybpf does;
  bytecode cached and the per-boot BTF lookup memo filled (by a warm-up run), as on
  every run after the first of a boot;
- the same for ``pybpf load OBJ --attach`` (time to its "Attached" line);
- the same tool as the first process of a boot (``PYBPF_NO_CACHE=1``: no BTF memo);
- the same in this machine's own interpreter (editable install + sandbox .pth hooks);
- inside a running process (imports and BTF already loaded), and parse alone.
Needs root, clang and /usr/sbin/opensnoop; otherwise one row says why.
"""

from __future__ import annotations

import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from ._env import ENV, ROOT, installed_venv, venv_python

OPENSNOOP = "/usr/sbin/opensnoop"
RUNQLAT = "/usr/sbin/runqlat"  # the other named reference (a heavier start-up)
HEADER = "PID    COMM              FD ERR PATH"

TOOL = f"""
import sys
from pybpf.elf import load_collection_spec
spec = load_collection_spec(sys.argv[1])
coll = spec.load()
coll.attach_all()
print({HEADER!r}, flush=True)
sys.stdin.readline()
coll.close()
"""


def _line_time(cmd: list[str], marker: str = "", env: dict[str, str] | None = None,
               cwd: str = str(ROOT)) -> float:
    """Seconds from spawn until the process prints its first stdout line, or (``marker``)
    a line on stdout or stderr containing ``marker``."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                         stderr=subprocess.STDOUT if marker else subprocess.DEVNULL,
                         text=True, cwd=cwd, env=env or ENV)
    assert p.stdout is not None
    line, dt = "", float("nan")
    while select.select([p.stdout], [], [], 10)[0]:
        line = p.stdout.readline()
        if not line or marker in line:
            dt = time.perf_counter() - t
            break
    p.terminate()
    p.communicate(timeout=30)
    if not line:
        raise RuntimeError(f"{cmd[0]} printed nothing")
    return dt


def _row(name: str, value: float, reference: str, ref: float) -> dict[str, Any]:
    return {"name": name, "value": value * 1e3, "unit": "ms",
            "reference": f"{reference} {ref * 1e3:.1f} ms", "ratio": value / ref}


def _interleaved(cmds: dict[str, tuple[list[str], str, dict[str, str] | None, str]],
                 runs: int) -> dict[str, list[float]]:
    """Every time of each command, the runs interleaved so machine noise hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, (cmd, marker, env, cwd) in cmds.items():
            times[k].append(_line_time(cmd, marker, env, cwd))
    return times


def run() -> list[dict[str, Any]]:
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from bpf.build import build, missing

    why = missing() or (None if os.path.exists(OPENSNOOP) else f"{OPENSNOOP} not installed")
    if why is None and os.geteuid() != 0:
        why = "needs root"
    if why:
        return [{"name": "skipped", "value": why, "unit": "", "reference": "", "ratio": ""}]
    objs = {"procstat": build("procstat"), "opensnoop": build("opensnoop")}
    # opensnoop's stdout is block-buffered into a pipe: its header would only arrive with
    # 4 KiB of events. Line-buffer it (as on a terminal) so the header is timed.
    ref_cmd = ["stdbuf", "-oL", OPENSNOOP] if shutil.which("stdbuf") else [OPENSNOOP]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = installed_venv(tmp)[0]
        py = venv_python(script)
        first_env = dict(ENV, PYBPF_NO_CACHE="1")  # no memo read (none written either)
        cmds: dict[str, tuple[list[str], str, dict[str, str] | None, str]] = {
            "ref": (ref_cmd, "", None, str(ROOT))}
        if os.path.exists(RUNQLAT):
            cmds["runqlat"] = ([*ref_cmd[:-1], RUNQLAT], "", None, str(ROOT))
        for name, obj in objs.items():
            cmds[f"{name} tool"] = ([py, "-c", TOOL, obj], "", None, tmp)
            cmds[f"{name} cli"] = ([script, "load", obj, "--attach"], "Attached", None, tmp)
            cmds[f"{name} own"] = ([sys.executable, "-c", TOOL, obj], "", None, str(ROOT))
        cmds["procstat first"] = ([py, "-c", TOOL, objs["procstat"]], "", first_env, tmp)
        for cmd, marker, env, cwd in cmds.values():  # warm-up: bytecode, BTF memo
            _line_time(cmd, marker, env, cwd)
        times = _interleaved(cmds, runs=11)
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = best["ref"]
    label = "opensnoop header"
    for name in objs:
        rows.append(_row(f"{name}: pip-style tool, fresh process -> attached",
                         best[f"{name} tool"], label, ref))
        if name == "procstat":
            rows.append(_row("procstat: same, medians (this VM's noise)", med["procstat tool"],
                             "opensnoop header median", med["ref"]))
        if name == "procstat" and "runqlat" in best:
            rows.append(_row("procstat: same, vs runqlat", best["procstat tool"],
                             "runqlat header", best["runqlat"]))
            rows.append(_row("procstat: same, vs runqlat, medians", med["procstat tool"],
                             "runqlat header median", med["runqlat"]))
        rows.append(_row(f"{name}: `pybpf load --attach`, fresh process",
                         best[f"{name} cli"], label, ref))
        rows.append(_row(f"{name}: same tool, this machine's interpreter (site hooks)",
                         best[f"{name} own"], label, ref))
    rows.append(_row("procstat: tool as the boot's first process (no BTF memo)",
                     best["procstat first"], label, ref))

    from pybpf.elf import load_collection_spec

    obj = objs["procstat"]

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
    rows.append(_row("procstat: in a running process", min(warm() for _ in range(5)),
                     label, ref))
    rows.append(_row("procstat: parse + CO-RE only, running process",
                     min(parse() for _ in range(5)), label, ref))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
