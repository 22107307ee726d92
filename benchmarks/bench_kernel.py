"""Kernel backend: read a 100k-entry hash map with batch syscalls vs ``bpftool map dump``.

Both read the same live map in the same run. Rows:
- batch read to raw (key, value) bytes, vs bpftool's plain dump;
- read + decode to a Python dict of ints, vs bpftool --json dump;
- the old way (one GET_NEXT_KEY + one LOOKUP per entry), vs the batch read;
- the syscall count of the batch read.
Needs root (or CAP_BPF) and bpftool; otherwise one row says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

N = 100_000


def _best(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _row(name: str, value: float, unit: str, reference: str, ref_value: float) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "reference": reference,
            "ratio": value / ref_value if ref_value else float("nan")}


def run() -> list[dict[str, Any]]:
    from pybpf.kernel import KernelMap, features
    from pybpf.spec import MapSpec
    from pybpf.uapi import MapType

    why = features.bpf_available()
    bpftool = shutil.which("bpftool") or ("/usr/sbin/bpftool"
                                          if os.path.exists("/usr/sbin/bpftool") else None)
    if why or not bpftool:
        return [{"name": "skipped", "value": why or "bpftool not installed", "unit": "",
                 "reference": "", "ratio": ""}]
    rows: list[dict[str, Any]] = []
    with KernelMap.create(MapSpec("bench_hash", MapType.HASH, 4, 8, N)) as m:
        m.typed("u32", "u64")
        m.update_batch((i, i * 7) for i in range(N))
        mid = str(m.id)

        def ours_raw() -> None:
            assert sum(1 for _ in m.items_raw()) == N

        def ours_dict() -> None:
            assert len(m.to_dict()) == N

        def bpftool_plain() -> None:
            subprocess.run([bpftool, "map", "dump", "id", mid], check=True,
                           stdout=subprocess.DEVNULL)

        def bpftool_json() -> None:
            subprocess.run([bpftool, "--json", "map", "dump", "id", mid], check=True,
                           stdout=subprocess.DEVNULL)

        t_raw, t_dict = _best(ours_raw), _best(ours_dict)
        t_tool, t_tool_json = _best(bpftool_plain), _best(bpftool_json)
        rows.append(_row("batch read 100k entries (raw bytes)", t_raw, "s",
                         f"bpftool map dump {t_tool:.3f}s", t_tool))
        rows.append(_row("batch read 100k entries to a dict of ints", t_dict, "s",
                         f"bpftool --json map dump {t_tool_json:.3f}s", t_tool_json))

        def per_entry() -> None:
            n = 0
            for k in list(m.keys_raw()):
                m.lookup_raw(k)
                n += 1
            assert n == N

        t_slow = _best(per_entry, repeat=1)
        rows.append(_row("per-entry next_key + lookup (100k)", t_slow, "s",
                         f"batch read {t_raw:.3f}s", t_raw))
        calls = sum(1 for _ in m.lookup_batch_raw())
        rows.append({"name": "BPF_MAP_LOOKUP_BATCH syscalls for 100k entries", "value": calls,
                     "unit": "calls", "reference": f"{2 * N} calls one entry at a time",
                     "ratio": calls / (2 * N)})
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
