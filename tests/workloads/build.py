"""Build the C workload with gcc into a directory (once per test session)."""

from __future__ import annotations

import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def gcc_missing() -> str | None:
    return None if shutil.which("gcc") else "gcc is not installed"


def build_workload(outdir: str, name: str = "workload") -> str:
    out = os.path.join(outdir, name)
    subprocess.run(["gcc", "-O2", "-o", out, os.path.join(HERE, "workload.c")], check=True,
                   capture_output=True)
    return out
