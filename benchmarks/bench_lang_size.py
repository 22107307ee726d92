"""Tracing language code size: translated (xlated) instructions of the programs pybpf
compiles for common one-liners vs what bpftrace generates for the same scripts.

Both are loaded into the kernel in this run and their ``xlated_prog_len`` read back
(bpftrace's programs are found through /proc/PID/fdinfo of the bpftrace process).
The issue's target: ratio <= 1.25. Needs root and bpftrace; otherwise a row says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Any

SCRIPTS = {
    "@[comm] = count()":
        'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }',
    "printf comm + filename":
        'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, '
        'str(args->filename)); }',
    "read latency hist":
        "tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } "
        "tracepoint:syscalls:sys_exit_read /@start[tid]/ "
        "{ @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }",
    "@[probe] = count()":
        'tracepoint:syscalls:sys_enter_openat { @[probe] = count(); }',
}


def ours(src: str) -> int:
    """Total xlated instructions of our programs for ``src`` (loaded, not attached)."""
    from pybpf.kernel.info import prog_details
    from pybpf.lang.codegen import compile_script

    coll = compile_script(src).spec.load(backend="kernel")
    try:
        return sum(prog_details(int(p.fd)).xlated_len // 8 for p in coll.programs.values())
    finally:
        coll.close()


def bpftrace(src: str, settle: float = 3.0) -> int:
    """Total xlated instructions of bpftrace's tracepoint programs for ``src``."""
    from pybpf.kernel.info import prog_by_id

    p = subprocess.Popen(["bpftrace", "-e", src], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        ids: set[int] = set()
        deadline = time.monotonic() + settle * 3
        while time.monotonic() < deadline:
            time.sleep(settle / 3)
            ids = _prog_ids(p.pid)
            if ids and time.monotonic() > deadline - settle * 2:
                break
        return sum(d.xlated_len // 8 for d in (prog_by_id(i) for i in ids)
                   if int(d.type) == 5)  # BPF_PROG_TYPE_TRACEPOINT: not BEGIN/END
    finally:
        os.killpg(p.pid, signal.SIGINT)
        p.wait(10)


def _prog_ids(pid: int) -> set[int]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        out.add(int(line.split()[1]))
        except OSError:
            continue
    return out


def run() -> list[dict[str, Any]]:
    if os.geteuid() != 0 or shutil.which("bpftrace") is None:
        return [{"name": "lang code size", "value": "skipped", "unit": "",
                 "reference": "needs root and bpftrace", "ratio": ""}]
    rows = []
    for name, src in SCRIPTS.items():
        mine, ref = ours(src), bpftrace(src)
        rows.append({"name": f"xlated insns: {name}", "value": mine, "unit": "insns",
                     "reference": f"bpftrace {ref}", "ratio": round(mine / ref, 2) if ref
                     else ""})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
