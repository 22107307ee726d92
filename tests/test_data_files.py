"""Run every tests/data/*.data case through the conformance plugin's own code path.

A case is the bpf_conformance data format (``-- asm`` or ``-- raw``, optional ``-- mem``,
then ``-- result`` or ``-- error``); adding a case needs no code. For ``-- error`` the
expected text must appear in the one-line error the plugin would print.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.conformance import parse_data_file, run_case

DATA = Path(__file__).parent / "data"
CASES = sorted(DATA.glob("*.data"))


def test_there_are_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_data_file(path: Path) -> None:
    case = parse_data_file(path.read_text(), path.name)
    r0, error = run_case(case)
    if case.error:
        assert error is not None, f"expected an error containing {case.error!r}, got r0=0x{r0:x}"
        assert case.error in error
        assert "\n" not in error
    else:
        assert error is None, error
        assert r0 == case.result, f"r0 = 0x{r0:x}, expected 0x{case.result:x}"
