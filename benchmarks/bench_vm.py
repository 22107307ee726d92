"""VM speed against the kernel JIT running the same program (BPF_PROG_TEST_RUN).

``run()`` returns rows ``{"name", "value", "unit", "reference", "ratio"}``; values
are executed BPF instructions per second (millions). The reference is the kernel
running the identical socket-filter program with ``repeat``; it is None when the
kernel backend is unavailable (not root, no bpf()). Run: ``python3 benchmarks/bench_vm.py``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pybpf.asm.insn import Insn
from pybpf.spec import ProgramSpec
from pybpf.uapi import ProgType

PACKET = bytes(64)


def counted_loop(n: int) -> tuple[list[Insn], int]:
    """r0 = sum(n..1): 2 + 3n + 1 executed instructions."""
    insns = [
        Insn(0xB7, 0, 0, 0, 0),        # r0 = 0
        Insn(0xB7, 1, 0, 0, n),        # r1 = n
        Insn(0x0F, 0, 1, 0, 0),        # r0 += r1
        Insn(0x17, 1, 0, 0, 1),        # r1 -= 1
        Insn(0x55, 1, 0, -3, 0),       # if r1 != 0 goto -3
        Insn(0x95),
    ]
    return insns, 3 + 3 * n


def stack_loop(n: int) -> tuple[list[Insn], int]:
    """*(u64 *)(r10 - 8) += i for i in n..1, through loads and stores: 4 + 5n executed."""
    insns = [
        Insn(0x7A, 10, 0, -8, 0),      # *(u64 *)(r10 - 8) = 0
        Insn(0xB7, 1, 0, 0, n),        # r1 = n
        Insn(0x79, 2, 10, -8, 0),      # r2 = *(u64 *)(r10 - 8)
        Insn(0x0F, 2, 1, 0, 0),        # r2 += r1
        Insn(0x7B, 10, 2, -8, 0),      # *(u64 *)(r10 - 8) = r2
        Insn(0x17, 1, 0, 0, 1),        # r1 -= 1
        Insn(0x55, 1, 0, -5, 0),       # if r1 != 0 goto -5
        Insn(0x79, 0, 10, -8, 0),      # r0 = *(u64 *)(r10 - 8)
        Insn(0x95),
    ]
    return insns, 4 + 5 * n


def alu_block(k: int) -> tuple[list[Insn], int]:
    """A straight line of 5*k ALU instructions, no branches."""
    insns = [Insn(0xB7, r, 0, 0, r + 3) for r in range(1, 5)]
    for _ in range(k):
        insns += [Insn(0x07, 1, 0, 0, 3), Insn(0xAF, 2, 1, 0, 0), Insn(0x27, 3, 0, 0, 7),
                  Insn(0x4F, 4, 2, 0, 0), Insn(0x77, 1, 0, 0, 1)]
    insns += [Insn(0xBF, 0, 1, 0, 0), Insn(0x57, 0, 0, 0, 0xFF), Insn(0x95)]
    return insns, len(insns)


def _vm_rate(insns: list[Insn], executed: int, runs: int) -> tuple[float, int]:
    from pybpf.vm import VmProgram

    prog = VmProgram(ProgramSpec("bench", ProgType.SOCKET_FILTER, insns),
                     budget=executed + 10)
    prog.run(b"", PACKET)  # warm up
    best = float("inf")
    r0 = 0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(runs):
            r0 = prog.run(b"", PACKET)
        best = min(best, time.perf_counter() - t0)
    return executed * runs / best / 1e6, r0


def _kernel_rate(insns: list[Insn], executed: int, repeat: int) -> tuple[float | None, int | None]:
    try:
        from pybpf.kernel.programs import load_program
    except Exception:  # noqa: BLE001 - no kernel backend
        return None, None
    try:
        prog = load_program(ProgramSpec("bench", ProgType.SOCKET_FILTER, insns))
    except Exception:  # noqa: BLE001 - not root, no bpf(), verifier limits
        return None, None
    try:
        best = None
        retval = None
        for _ in range(3):
            res = prog.test_run(PACKET, repeat=repeat)
            retval = res.retval
            if res.duration_ns and (best is None or res.duration_ns < best):
                best = res.duration_ns
        return (executed / best * 1e3 if best else None), retval
    finally:
        prog.close()


def run() -> list[dict[str, Any]]:
    rows = []
    cases = [
        ("counted loop", *counted_loop(100_000), 3, 200),
        ("straight ALU block", *alu_block(200), 2000, 100_000),
        ("stack load/store loop", *stack_loop(50_000), 3, 200),
    ]
    for name, insns, executed, runs, repeat in cases:
        value, vm_r0 = _vm_rate(insns, executed, runs)
        ref, k_r0 = _kernel_rate(insns, executed, repeat)
        if k_r0 is not None and k_r0 != vm_r0 & 0xFFFFFFFF:
            raise AssertionError(f"{name}: vm r0 {vm_r0} != kernel r0 {k_r0}")
        rows.append({
            "name": f"vm {name}",
            "value": round(value, 2),
            "unit": "M insn/s",
            "reference": f"kernel JIT (BPF_PROG_TEST_RUN) {ref:,.0f} M insn/s" if ref else None,
            "ratio": round(value / ref, 4) if ref else None,
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
