"""Fuzz the verifier: soundness against the vm, agreement with the kernel.

    python -m benchmarks.fuzz_verifier [--count N] [--snippets K] [--risk P] [--mutate M]
                                       [--no-kernel]

For N random XDP programs (pybpf.verifier.randprog): every program pybpf accepts
runs in the vm on packets of 0, 1, 14 and 60 random bytes and must never fault
(a fault is a soundness bug); every program is also loaded into the running
kernel (as root) and the verdicts compared. ``--mutate M`` also changes up to M
random fields (register, offset, immediate) of each program first, which reaches
states the snippets alone do not. Prints counts, the agreement rate, each
disagreement category, and the seeds to reproduce failures.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter

from pybpf.asm.insn import Insn
from pybpf.mapapi import Map
from pybpf.uapi import ProgType
from pybpf.verifier import verify
from pybpf.verifier.randprog import MAPS, RandomProgram, random_program


def mutate(rp: RandomProgram, times: int) -> RandomProgram:
    """Change up to ``times`` fields of non-call, non-wide instructions at random."""
    r = random.Random(rp.seed)
    insns = list(rp.insns)
    for _ in range(r.randint(1, times)):
        i = r.randrange(len(insns))
        ins = insns[i]
        if ins.is_wide or (i and insns[i - 1].is_wide) or ins.opcode in (0x85, 0x95):
            continue
        field = r.randrange(4)
        if field == 0:
            ins = Insn(ins.opcode, r.randint(0, 9), ins.src, ins.off, ins.imm)
        elif field == 1:
            ins = Insn(ins.opcode, ins.dst, r.randint(0, 10), ins.off, ins.imm)
        elif field == 2:
            ins = Insn(ins.opcode, ins.dst, ins.src, ins.off + r.randint(-9, 9), ins.imm)
        else:
            ins = Insn(ins.opcode, ins.dst, ins.src, ins.off, ins.imm + r.randint(-9, 9))
        insns[i] = ins
    return RandomProgram(insns, rp.seed)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="fuzz_verifier")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--snippets", type=int, default=12)
    ap.add_argument("--risk", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mutate", type=int, default=0)
    ap.add_argument("--no-kernel", action="store_true")
    args = ap.parse_args(argv)
    use_kernel = not args.no_kernel and os.geteuid() == 0
    if use_kernel:
        from pybpf.verifier.oracle import kernel_verify
    from pybpf.vm.maps import create_map
    from pybpf.vm.memory import VmError
    from pybpf.vm.program import VmProgram

    accepted = runs = agree = strict_only = 0
    faults: list[str] = []
    cats: Counter[str] = Counter()
    t_ours = 0.0
    for seed in range(args.seed, args.seed + args.count):
        rp = random_program(seed, snippets=args.snippets, risk=args.risk)
        if args.mutate:
            rp = mutate(rp, args.mutate)
        t = time.perf_counter()
        v = verify(rp.insns, ProgType.XDP, list(MAPS))
        t_ours += time.perf_counter() - t
        if not v.accepted:
            loose = verify(rp.insns, ProgType.XDP, list(MAPS), strict_stack=False)
            if loose.accepted:
                strict_only += 1
                v = loose  # compare with the kernel under its own (CAP_PERFMON) rules
        if use_kernel:
            k = kernel_verify(rp.insns, ProgType.XDP, list(MAPS))
            if k.accepted == v.accepted:
                agree += 1
            else:
                ours = v.errors[0].reason[:60] if v.errors else "accepted"
                cats[f"ours: {ours} / kernel: {k.message[:60] or 'accepted'}"] += 1
        if not v.accepted:
            continue
        accepted += 1
        maps: dict[str, Map] = {m.name: create_map(m) for m in MAPS}
        prog = VmProgram(rp.spec(), maps, budget=500_000, seed=seed)
        rnd = random.Random(seed)
        for size in (0, 1, 14, 60):
            try:
                prog.test_run(rnd.randbytes(size))
                runs += 1
            except VmError as e:
                faults.append(f"seed {seed} ({size}-byte packet): {e}")
    print(f"{args.count} programs, {accepted} accepted by pybpf, {runs} vm runs, "
          f"{len(faults)} faults; verification {t_ours * 1000 / args.count:.2f} ms/program")
    print(f"{strict_only} more programs are rejected only for reading uninitialized stack "
          "(strict_stack; the kernel allows it for CAP_PERFMON and they are compared "
          "without it)")
    for f in faults:
        print("  FAULT", f)
    if use_kernel:
        print(f"agreement with the kernel: {agree}/{args.count} = {agree / args.count:.2%}")
        for cat, n in cats.most_common():
            print(f"  x{n} {cat}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
