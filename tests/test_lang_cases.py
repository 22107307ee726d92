"""Data-driven language tests: each tests/lang_cases/NAME.bt runs in the vm and must print
exactly NAME.out (captured from bpftrace 0.17 with the same script; NAME.fires, when
present, lists extra probe firings as "program count" lines); each
errors/NAME.bt must fail with exactly errors/NAME.err (bpftrace 0.17's diagnostics)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pybpf.lang.codegen import compile_script
from pybpf.lang.errors import CompileError
from pybpf.lang.runtime import run_vm

CASES = Path(__file__).parent / "lang_cases"
RUN_CASES = sorted(p.name for p in CASES.glob("*.bt"))
ERROR_CASES = sorted(p.name for p in (CASES / "errors").glob("*.bt"))


@pytest.mark.parametrize("name", RUN_CASES)
def test_output_matches_bpftrace(name: str) -> None:
    path = CASES / name
    script = compile_script(path.read_text(), name, tracepoint_format=None)
    fires: list[tuple[str, bytes]] = []
    fires_file = path.with_suffix(".fires")  # "program count" lines: extra probe firings
    if fires_file.exists():
        for line in fires_file.read_text().splitlines():
            prog, count = line.split()
            fires += [(prog, bytes(64))] * int(count)
    got = run_vm(script, fires, compat="0.17", task={"comm": "bpftrace"})
    assert got == path.with_suffix(".out").read_text()


@pytest.mark.parametrize("name", ERROR_CASES)
def test_error_matches_bpftrace(name: str) -> None:
    path = CASES / "errors" / name
    with pytest.raises(CompileError) as info:
        compile_script(path.read_text(), name, tracepoint_format=None)
    assert info.value.text.strip() == path.with_suffix(".err").read_text().strip()
    assert info.value.exit_code == 1


def test_cases_exist() -> None:
    assert len(RUN_CASES) >= 6 and len(ERROR_CASES) >= 40, os.listdir(CASES)
