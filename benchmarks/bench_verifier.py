"""Static verification time: pybpf's verifier against the kernel's, same programs.

Programs of about 100, 1000 and 10000 instructions made of blocks that each run
a bounded loop (4 iterations), look up a map element with a null check and read
packet bytes after a data_end check (XDP). The reference is the kernel's own
"verification time N usec" from the BPF_PROG_LOAD stats log (log_level 4), read
in this run; pybpf's time is wall time of ``verify()``. Both sides get one
warm-up and then the best of ``RUNS`` (the least disturbed by other load on the
machine, for both alike). The ratio is pybpf / kernel (how many times slower).
A second row per size compares the number of instructions each verifier
processed (its exploration work).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from pybpf.asm.assembler import assemble_program
from pybpf.spec import MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType
from pybpf.verifier import verify

MAPS = {"counts": MapSpec("counts", MapType.HASH, 4, 8, 64)}
RUNS = 7

_BLOCK = """
r1 = 0
r3 = 0
loop{i}:
r3 += r1
r3 ^= {k}
r1 += 1
if r1 < 4 goto loop{i}
*(u32 *)(r10 - 4) = r3
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
if r0 == 0 goto skip{i}
r1 = *(u64 *)(r0 + 0)
r1 += {k}
*(u64 *)(r0 + 0) = r1
skip{i}:
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r4 = r2
r4 += {pk}
if r4 > r3 goto out{i}
r5 = *(u8 *)(r2 + {pb})
r7 += r5
out{i}:
"""


def program(target: int) -> ProgramSpec:
    """An XDP program of about ``target`` instructions built from loop blocks."""
    parts = ["r6 = r1", "r7 = 0"]
    per_block = 23  # instruction slots in one block
    for i in range(max(1, round((target - 5) / per_block))):
        parts.append(_BLOCK.format(i=i, k=i % 97, pk=1 + i % 60, pb=i % 60))
    parts += ["r0 = r7", "r0 &= 3", "exit"]
    a = assemble_program("\n".join(parts), f"bench{target}.s")
    return ProgramSpec(f"bench{target}", ProgType.XDP, a.insns, map_refs=a.map_refs)


def _ours(spec: ProgramSpec) -> tuple[float, int]:
    times = []
    processed = 0
    for i in range(RUNS + 1):
        t = time.perf_counter()
        v = verify(spec, maps=MAPS)
        if i:  # the first run is the warm-up
            times.append(time.perf_counter() - t)
        if not v.accepted:
            raise AssertionError(f"{spec.name} rejected: {v.errors[0]}")
        processed = v.stats["insns_processed"]
    return min(times) * 1e6, processed


def _kernel(spec: ProgramSpec) -> tuple[float | None, int | None]:
    if os.geteuid() != 0:
        return None, None
    from pybpf.verifier.oracle import kernel_verify_spec

    times, processed = [], None
    for i in range(RUNS + 1):
        k = kernel_verify_spec(spec, MAPS, stats=True)
        if not k.accepted:
            raise AssertionError(f"kernel rejected {spec.name}: {k.message}")
        if k.time_us is not None and i:
            times.append(k.time_us)
        processed = k.processed
    return (min(times) if times else None), processed


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for target in (100, 1000, 10000):
        spec = program(target)
        n = len(spec.insns)
        ours_us, ours_n = _ours(spec)
        k_us, k_n = _kernel(spec)
        rows.append({
            "name": f"verify {n}-insn program with loops",
            "value": round(ours_us / 1000, 2),
            "unit": "ms",
            "reference": f"kernel verifier {k_us / 1000:.3f} ms" if k_us else None,
            "ratio": round(ours_us / k_us, 1) if k_us else None,
        })
        rows.append({
            "name": f"insns processed, {n}-insn program",
            "value": ours_n,
            "unit": "insns",
            "reference": f"kernel {k_n} insns",
            "ratio": round(ours_n / k_n, 2) if k_n else None,
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
