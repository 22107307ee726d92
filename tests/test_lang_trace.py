"""``pybpf trace`` end to end in the kernel: a deterministic workload, exact counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def trace(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pybpf", "trace", *argv],
                          capture_output=True, text=True, timeout=timeout)


def test_compile_error_is_bpftrace_text() -> None:
    r = trace("-e", "BEGIN { foo(1); }")
    assert r.returncode == 1
    assert r.stderr == ("stdin:1:9-12: ERROR: Unknown function: foo\n"
                        "BEGIN { foo(1); }\n"
                        "        ~~~\n")
    assert r.stdout == ""


def test_script_file_errors_name_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.bt"
    f.write_text("BEGIN {\n  @x = count(1);\n}\n")
    r = trace(str(f))
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == (
        f"{f}:2:8-16: ERROR: count() requires no arguments (1 provided)")


@pytest.mark.kernel
def test_begin_printf_params_and_maps() -> None:
    r = trace("-e", 'BEGIN { printf("%d %s\\n", $1 + 1, "x"); @[1] = lhist(5, 0, 10, 5); '
              "exit(); }", "41")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("42 x\n\n\n@[1]: \n"
                             "[5, 10)                1 |" + "@" * 52 + "|\n\n")


@pytest.mark.kernel
def test_tracepoint_counts_workload_opens() -> None:
    import tempfile

    # a short directory: str() keeps 63 characters, long pytest paths would collide
    tmp_path = Path(tempfile.mkdtemp(prefix="pbl", dir="/tmp"))
    target = tmp_path / "target.txt"
    target.write_text("x")
    work = tmp_path / "work.py"
    work.write_text(f"for _ in range(7):\n    open({str(target)!r}).close()\n")
    prog = ("tracepoint:syscalls:sys_enter_openat "
            "{ @[str(args.filename)] = count(); }")
    r = trace("-f", "json", "-c", f"{sys.executable} {work}", "-e", prog)
    assert r.returncode == 0, r.stderr
    maps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith('{"type": "map')]
    assert maps and maps[0]["data"]["@"][str(target)] == 7
    import shutil

    shutil.rmtree(tmp_path)


@pytest.mark.kernel
def test_dry_run_loads_without_attaching() -> None:
    r = trace("--dry-run", "-e", "tracepoint:syscalls:sys_enter_getpid { @ = count(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""


@pytest.mark.kernel
def test_join_and_array_index_of_execve_argv() -> None:
    prog = ('tracepoint:syscalls:sys_enter_execve /str(args.argv[1]) == "pybpf-join"/ '
            '{ join(args.argv); join(args.argv, ","); printf("[%s]\\n", str(args.argv[2])); }')
    r = trace("-c", "/bin/echo pybpf-join two", "-e", prog)
    assert r.returncode == 0, r.stderr
    # the traced echo shares stdout: its own line may land anywhere between ours
    ours = [ln for ln in r.stdout.splitlines() if ln != "pybpf-join two"]
    assert ours[:3] == ["/bin/echo pybpf-join two", "/bin/echo,pybpf-join,two", "[two]"]
