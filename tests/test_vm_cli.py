"""`pybpf run`, tracing, and translation of large or deeply branching programs."""

from __future__ import annotations

from pathlib import Path

import pytest
from vm_build import alu, exit_, ja, jmp, mov, run, spec

from pybpf.asm.insn import encode
from pybpf.cli.main import main
from pybpf.vm import VmProgram

PROG = """
mov %r0, 0
ldxb %r2, [%r1+0]
loop:
add %r0, %r2
sub %r2, 1
jne %r2, 0, loop
exit
"""


def test_run_assembly_with_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "sum.s"
    f.write_text(PROG)
    assert main(["run", str(f), "--mem", "04"]) == 0
    assert capsys.readouterr().out == "r0 = 10 (0xa)\n"


def test_run_bytecode_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.bin"
    f.write_bytes(encode([mov(0, -1), exit_()]))
    assert main(["run", str(f)]) == 0
    assert capsys.readouterr().out == "r0 = 18446744073709551615 (0xffffffffffffffff)\n"


def test_run_ctx_file_and_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "sum.s"
    f.write_text(PROG)
    ctx = tmp_path / "ctx"
    ctx.write_bytes(b"\x02")
    assert main(["run", str(f), "--ctx-file", str(ctx), "--trace"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(ln.split(":")[0]) for ln in lines[:-1]] == [0, 1, 2, 3, 4, 2, 3, 4, 5]
    assert lines[1].endswith("r2=0x2")
    assert lines[2].endswith("r0=0x2") and lines[5].endswith("r0=0x3")
    assert lines[-1] == "r0 = 3 (0x3)"


def test_run_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "sum.s"
    f.write_text(PROG)
    assert main(["run", str(f), "--mem", "ff", "--budget", "50"]) == 1
    err = capsys.readouterr().err
    assert err == (f"pybpf run: {f}:5:1: insn 2: instruction budget of 50 exhausted "
                   "(raise it with budget=... or --budget)\n")
    assert main(["run", str(f)]) == 1
    assert capsys.readouterr().err == \
        f"pybpf run: {f}:3:1: insn 1: read of 1 bytes at 0x0: null pointer dereference\n"
    assert main(["run", str(f), "--mem", "zz"]) == 2
    assert "is not hex bytes" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.s")]) == 1


def test_trace_callback_reports_changed_registers() -> None:
    seen: list[tuple[int, dict[int, int]]] = []
    p = VmProgram(spec(mov(0, 1), mov(3, 9), alu("add", 0, src=3), exit_()),
                  trace=lambda i, ins, changed: seen.append((i, changed)))
    assert p.run() == 10
    assert seen == [(0, {0: 1}), (1, {3: 9}), (2, {0: 10}), (3, {})]


def test_deep_inline_chains_fall_back_to_dispatch() -> None:
    # 300 forward jumps to the end: a chain of single-predecessor blocks
    n = 300
    body = [mov(0, 0)]
    for k in range(n):
        body += [jmp("jeq", 0, 2 * (n - k) - 1, imm=-5), alu("add", 0, 1)]
    body.append(exit_())
    assert run(*body) == n


def test_many_diamonds() -> None:
    body = [mov(0, 0), mov(1, 0x5A5A)]
    expected = 0
    for k in range(400):
        bit = 1 << (k % 16)
        body += [jmp("jset", 1, 2, imm=bit), alu("add", 0, k), ja(1), alu("sub", 0, k)]
        expected += -k if 0x5A5A & bit else k
    body.append(exit_())
    assert run(*body) == expected & (2**64 - 1)


@pytest.mark.kernel
def test_run_same_program_in_the_kernel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ld.s"
    f.write_text("mov %r6, %r1\nldabsb 1\nexit\n")
    pkt = "00 " * 14 + "05 2a 07"
    assert main(["run", str(f), "--type", "socket_filter", "--mem", pkt]) == 0
    vm_out = capsys.readouterr().out
    assert main(["run", str(f), "--type", "socket_filter", "--mem", pkt,
                 "--backend", "kernel"]) == 0
    assert capsys.readouterr().out == vm_out == "r0 = 42 (0x2a)\n"
