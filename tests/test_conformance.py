"""The bpf_conformance plugin: command line contract, helpers, and the data-file parser."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from pybpf.asm.insn import Insn, encode, lddw
from pybpf.conformance import (
    CONFORMANCE_HELPERS,
    main,
    parse_args,
    parse_data_file,
    run_bytes,
    run_case,
)
from pybpf.errors import BadInput

MOV64_K = 0xB7
EXIT = Insn(0x95)


def hexline(raw: bytes, sep: str = "  ") -> str:
    """The runner's encoding: each byte as two hex digits followed by two spaces."""
    return "".join(f"{b:02x}{sep}" for b in raw)


def plugin(argv: list[str], program: bytes) -> tuple[int, str]:
    out = io.StringIO()
    rc = main(argv, io.StringIO(hexline(program) + "\n"), out)
    return rc, out.getvalue()


def test_prints_r0_in_hex_and_exits_0() -> None:
    prog = encode([*lddw(0, 0xFEDCBA9876543210), EXIT])
    assert plugin([], prog) == (0, "fedcba9876543210\n")


def test_memory_argument_r1_points_at_it_r2_is_its_length() -> None:
    # r0 = *(u32 *)(r1 + 0) + r2
    prog = encode([Insn(0x61, 0, 1, 0, 0), Insn(0x0F, 0, 2), EXIT])
    rc, out = plugin([hexline(bytes([1, 2, 3, 4, 5, 6]))], prog)
    assert (rc, out) == (0, f"{0x04030201 + 6:x}\n")


def test_memory_is_writable_copy() -> None:
    # *(u8 *)(r1 + 1) = 0x7f; r0 = *(u16 *)(r1 + 0)
    prog = encode([Insn(0x72, 1, 0, 1, 0x7F), Insn(0x69, 0, 1, 0, 0), EXIT])
    assert plugin(["aa 00"], prog) == (0, "7faa\n")


def test_options_after_memory_and_old_runner_empty_arguments() -> None:
    prog = encode([Insn(MOV64_K, 0, 0, 0, 9), EXIT])
    assert plugin(["01 02", "--interpret"], prog) == (0, "9\n")
    assert plugin(["--interpret"], prog) == (0, "9\n")  # no memory: runner omits it
    assert plugin(["", ""], prog) == (0, "9\n")  # older runners pass empty strings


def test_program_error_is_one_line_exit_1() -> None:
    prog = encode([Insn(0x61, 0, 1, 0, 0), EXIT])  # reads 4 bytes of 2-byte memory
    rc, out = plugin(["01 02"], prog)
    assert rc == 1
    assert out.count("\n") == 1 and "insn 0" in out and "read of 4 bytes" in out


def test_bad_input_exit_2() -> None:
    rc, out = plugin([], bytes([0xFF, 0, 0, 0, 0, 0, 0, 0]) + EXIT.encode())
    assert (rc, out) == (2, "instruction 0: unknown opcode 0xff\n")
    out_buf = io.StringIO()
    assert main([], io.StringIO("zz 01"), out_buf) == 2
    assert "program on stdin" in out_buf.getvalue()
    assert main([], io.StringIO(""), io.StringIO()) == 2  # empty program


@pytest.mark.parametrize("opt, words", [
    ("--elf", "ELF input is not supported"),
    ("--jit", "no JIT"),
    ("--frobnicate", "unknown option '--frobnicate'"),
])
def test_refused_options(opt: str, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        parse_args([opt])


def test_budget_option() -> None:
    assert parse_args(["--budget", "50"]).budget == 50
    assert parse_args(["--budget=0x10"]).budget == 16
    assert parse_args(["--debug"]).debug and not parse_args([]).debug
    loop = encode([Insn(0x05, 0, 0, -1, 0), EXIT])  # ja -1
    rc, out = plugin(["--budget", "100"], loop)
    assert rc == 1 and "budget of 100" in out


def test_helpers_of_the_ubpf_harness() -> None:
    assert set(CONFORMANCE_HELPERS) == {0, 1, 2, 3, 4, 5}
    # r1 = 1000000; call 3 (sqrti)
    prog = encode([Insn(MOV64_K, 1, 0, 0, 1000000), Insn(0x85, 0, 0, 0, 3), EXIT])
    assert run_bytes(prog) == 1000
    # r1 = 0; call 5 (unwind) stops the program with r0 = 0 before r0 = 7
    prog = encode([Insn(MOV64_K, 1), Insn(0x85, 0, 0, 0, 5), Insn(MOV64_K, 0, 0, 0, 7), EXIT])
    assert run_bytes(prog) == 0


def test_runs_as_a_process() -> None:
    """What the runner does: spawn the plugin, write the program, read one line."""
    prog = encode([Insn(0x61, 0, 1, 0, 0), EXIT])
    p = subprocess.run([sys.executable, "-m", "pybpf.conformance", "10  20  30  40  "],
                       input=hexline(prog) + "\n", capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "40302010\n")


# -- data-file parser ------------------------------------------------------------
SAMPLE = """\
# Copyright line
-- asm
mov %r0, 1   # a comment
add %r0, %r2

exit
-- mem
01 02
03
-- result
42
-- c
int f() { return 42; }
-- no register offset
call instruction
"""


def test_parse_data_file_sections() -> None:
    case = parse_data_file(SAMPLE, "sample.data")
    assert case.asm.split("\n") == ["mov %r0, 1   ", "add %r0, %r2", "exit"]
    assert case.memory == b"\x01\x02\x03"
    assert case.result == 42 and case.error is None and case.raw is None
    r0, err = run_case(case)
    assert (r0, err) == (4, None)  # 1 + len(memory)


def test_parse_data_file_raw_error_and_hex_result() -> None:
    case = parse_data_file("-- raw\n0x00000005000000b7 0x95\n-- result\n0x5\n", "r.data")
    assert case.raw == [0x5000000B7, 0x95] and case.result == 5
    assert run_case(case) == (5, None)
    err = parse_data_file("-- asm\nexit\n-- error\nsomething failed\n", "e.data")
    assert err.error == "something failed" and err.result is None


def test_parse_data_file_rejects_unknown_sections_and_missing_expectation() -> None:
    with pytest.raises(BadInput, match="x.data:2: unknown section"):
        parse_data_file("-- asm\n-- bogus\n", "x.data")
    with pytest.raises(BadInput, match="no -- result"):
        parse_data_file("-- asm\nexit\n", "y.data")


def test_assembly_errors_come_back_as_errors() -> None:
    case = parse_data_file("-- asm\nfrob %r0\n-- result\n0\n", "bad.data")
    r0, err = run_case(case)
    assert r0 is None and err is not None and "frob" in err


def test_parse_data_file_map_section() -> None:
    text = "-- map\n# name type key value entries\ncounts 1 4 8 16\n-- asm\nexit\n-- result\n0\n"
    case = parse_data_file(text, "m.data")
    assert [(m.name, int(m.type), m.key_size, m.value_size, m.max_entries)
            for m in case.maps] == [("counts", 1, 4, 8, 16)]
    with pytest.raises(BadInput, match="bad.data:2: a map line is"):
        parse_data_file("-- map\ncounts hash 4 8\n-- result\n0\n", "bad.data")
