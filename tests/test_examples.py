"""The README's examples run and say what the README says."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
example = runpy.run_path(str(ROOT / "examples" / "count_packets.py"))


def test_count_example_vm() -> None:
    assert example["count"]("vm", 5) == 5


@pytest.mark.kernel
def test_count_example_kernel_agrees_with_vm() -> None:
    assert example["count"]("kernel", 7) == example["count"]("vm", 7) == 7


def test_readme_first_command(tmp_path: Path) -> None:
    src = tmp_path / "hello.s"
    src.write_text("mov %r0, 42\nexit\n")
    out = subprocess.run([sys.executable, "-m", "pybpf", "run", str(src)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "r0 = 42 (0x2a)"


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.s"
    src.write_text("mov %r0, 1\nmov %r11, 1\nexit\n")
    r = subprocess.run([sys.executable, "-m", "pybpf", "run", str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert f"{src}:2:5: bad register '%r11'" in r.stderr
