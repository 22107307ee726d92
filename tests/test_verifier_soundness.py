"""Soundness: programs the verifier accepts never trip the vm's run-time memory checks."""

from __future__ import annotations

import random

from pybpf.mapapi import Map
from pybpf.uapi import ProgType
from pybpf.verifier import verify
from pybpf.verifier.randprog import MAPS, random_program
from pybpf.vm.maps import create_map
from pybpf.vm.memory import VmError
from pybpf.vm.program import VmProgram


def run_accepted(seeds: range, snippets: int = 10) -> tuple[int, int, list[str]]:
    """Verify each random program and run the accepted ones on packets of several sizes."""
    accepted = runs = 0
    faults: list[str] = []
    for seed in seeds:
        rp = random_program(seed, snippets=snippets)
        if not verify(rp.insns, ProgType.XDP, list(MAPS)).accepted:
            continue
        accepted += 1
        maps: dict[str, Map] = {m.name: create_map(m) for m in MAPS}
        prog = VmProgram(rp.spec(), maps, budget=200_000, seed=seed)
        rnd = random.Random(seed)
        for size in (0, 1, 14, 60):
            try:
                prog.test_run(rnd.randbytes(size))
                runs += 1
            except VmError as e:
                faults.append(f"seed {seed}, {size}-byte packet: {e}")
    return accepted, runs, faults


def test_accepted_random_programs_never_fault_in_the_vm() -> None:
    accepted, runs, faults = run_accepted(range(150))
    assert accepted >= 20
    assert runs == 4 * accepted
    assert not faults, faults


def test_the_vm_does_catch_what_the_verifier_rejects() -> None:
    # the check is meaningful: unchecked packet and null accesses do fault in the vm
    from pybpf.asm.assembler import assemble_program
    from pybpf.spec import ProgramSpec

    a = assemble_program("r2 = *(u32 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 60)\nexit")
    spec = ProgramSpec("p", ProgType.XDP, a.insns)
    assert not verify(spec).accepted
    try:
        VmProgram(spec, {}).test_run(b"\0" * 20)
        raise AssertionError("the vm let an out-of-bounds packet read through")
    except VmError:
        pass
