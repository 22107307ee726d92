"""Data-driven vm cases: each tests/vm_data/*.data file is a program and its expected outcome.

Format (uBPF style): ``-- asm`` (assembly text), optional ``-- mem`` (hex bytes: the
raw context, r1 = memory, r2 = its length), then ``-- result`` (r0) or ``-- error``
(the exact VmError message). Adding a case needs no code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.spec import ProgramSpec
from pybpf.uapi import ProgType
from pybpf.vm import VmError, VmProgram

CASES = sorted((Path(__file__).parent / "vm_data").glob("*.data"))


def parse(path: Path) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("-- "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None and not line.startswith("#"):
            sections[current].append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_data_case(path: Path) -> None:
    from pybpf.asm.assembler import assemble

    case = parse(path)
    insns = assemble(case["asm"] + "\n", str(path))
    mem = bytearray(bytes.fromhex(case.get("mem", "").replace("\n", " ")))
    if "error" in case:
        with pytest.raises(VmError) as info:
            VmProgram(ProgramSpec(path.stem, ProgType.UNSPEC, insns)).run(mem)
        assert str(info.value) == case["error"]
    else:
        r0 = VmProgram(ProgramSpec(path.stem, ProgType.UNSPEC, insns)).run(mem)
        assert r0 == int(case["result"], 0)


def test_there_are_cases() -> None:
    assert len(CASES) >= 9
