"""Bad input to the finished CLI commands: one line naming the place, a non-zero exit,
no traceback (regressions found by QA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pybpf.cli.main import main

OK_ASM = "mov r0, 1\nexit\n"


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err  # exactly one line
    return err


@pytest.mark.parametrize("budget", ["0", "-3"])
def test_run_rejects_a_budget_below_one(tmp_path: Path, budget: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.s"
    f.write_text(OK_ASM)
    assert main(["run", str(f), "--budget", budget]) == 2
    assert f"--budget {budget}: the instruction budget must be at least 1" in _err(capsys)


@pytest.mark.parametrize("ptype", ["raw", "kprobe", "tracepoint"])
def test_run_kernel_backend_names_the_types_it_can_run(
        tmp_path: Path, ptype: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'this kernel does not support unspec programs' or an opaque ENOTSUPP."""
    f = tmp_path / "ok.s"
    f.write_text(OK_ASM)
    assert main(["run", str(f), "--backend", "kernel", "--type", ptype]) == 2
    err = _err(capsys)
    assert f"cannot test-run {ptype} programs" in err
    assert "--type xdp, socket_filter or sched_cls" in err


def test_disasm_of_assembly_text_suggests_asm(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.s"
    f.write_text(OK_ASM)  # 15 bytes: not a multiple of 8
    assert main(["disasm", str(f)]) == 2
    err = _err(capsys)
    assert f"{f}: instruction 1: program length 15 is not a multiple of 8 bytes" in err
    assert "use 'pybpf asm'" in err


def test_disasm_of_an_empty_file_is_an_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "empty.bin"
    f.write_bytes(b"")
    assert main(["disasm", str(f)]) == 2
    assert f"{f}: the file is empty (no instructions)" in _err(capsys)


def test_disasm_of_garbage_has_no_asm_hint(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "g.bin"
    f.write_bytes(b"\xff\x00\x13" * 5)
    assert main(["disasm", str(f)]) == 2
    err = _err(capsys)
    assert "not a multiple of 8" in err and "pybpf asm" not in err


@pytest.mark.parametrize("tid", ["-5", "-1"])
def test_btf_dump_negative_id_is_one_line(tid: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: an AssertionError traceback from pybpf/btf/parse.py."""
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no vmlinux BTF")
    assert main(["btf", "dump", "--id", tid]) == 1
    err = _err(capsys)
    assert f"type id {tid} does not exist (valid ids are 0.." in err


@pytest.mark.kernel
@pytest.mark.parametrize("cmd", ["prog", "map", "link"])
@pytest.mark.parametrize("obj_id", ["-1", "4294967296", "99999999999999999999"])
def test_show_out_of_range_id(cmd: str, obj_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: ctypes wrapped -1 to 4294967295 and the error claimed 'no object with that id'."""
    assert main([cmd, "show", "id", obj_id]) == 2
    assert f"{cmd} id {obj_id} is out of range: ids are 1..4294967295" in _err(capsys)


@pytest.mark.kernel
@pytest.mark.parametrize("path", ["/sys/fs/bpf", "/etc/hostname"])
def test_show_pinned_on_a_non_pin_names_the_problem(
        path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before (as root): 'permission denied on the bpffs path'."""
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    assert main(["map", "show", "pinned", path]) == 1
    err = _err(capsys)
    assert "not a pinned BPF object" in err and "permission denied" not in err


@pytest.mark.parametrize("text, where", [
    ("ldxdw r0, [r1+0]\nexit\n", ":1:1: insn 0: read of 8 bytes at 0x0"),
    ("mov r0, 1\nmov r0, 2\n", ":2:1: insn 1: execution falls off the end"),
])
def test_run_vm_errors_name_the_source_line(tmp_path: Path, text: str, where: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.s"
    f.write_text(text)
    assert main(["run", str(f)]) == 1
    assert f"{f}{where}" in _err(capsys)


def test_run_prog_needs_an_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.s"
    f.write_text(OK_ASM)
    assert main(["run", str(f), "--prog", "x"]) == 2
    assert "--prog chooses a program of an object file" in _err(capsys)


@pytest.mark.kernel
def test_run_an_object_file_in_both_backends(capsys: pytest.CaptureFixture[str]) -> None:
    """Before: the help said .o, but the ELF file was decoded as raw bytecode
    ('instruction 0: reserved field imm must be zero')."""
    from bpf.build import build, missing

    if missing():
        pytest.skip(str(missing()))
    obj = build("xdp")
    pkt = "00" * 12 + "0800" + "45" + "00" * 49
    outs = []
    for backend in ("vm", "kernel"):
        assert main(["run", obj, "--mem", pkt, "--backend", backend]) == 0
        out = capsys.readouterr().out
        assert out.startswith("r0 = ")
        outs.append(out)
    assert outs[0] == outs[1]
    assert main(["run", obj, "--prog", "nope"]) == 2
    assert "no program 'nope' (have: " in _err(capsys)


def test_run_reads_stdin(monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'pybpf run -' said '-: no such file'."""
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"mov r0, 5\nexit\n")))
    assert main(["run", "-"]) == 0
    assert capsys.readouterr().out == "r0 = 5 (0x5)\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ldxdw r0, [r1+0]\nexit\n")))
    assert main(["run", "-"]) == 1
    assert "<stdin>:1:1: insn 0: read of 8 bytes at 0x0" in _err(capsys)


def test_asm_of_binary_stdin_says_not_text(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Before: "<stdin>:1:1: unexpected character '\\udc9c'"."""
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\x9c\xff\x00\x01" * 4)))
    assert main(["asm", "-", "--hex"]) == 2
    assert "<stdin>: not a text file" in _err(capsys)


def test_disasm_no_validate_mentions_trailing_bytes(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Before: the 5 bytes after the last whole instruction vanished without a word."""
    f = tmp_path / "p.bin"
    f.write_bytes(bytes.fromhex("b700000001000000" "9500000000000000") + b"\x01\x02\x03\x04\x05")
    assert main(["disasm", str(f), "--no-validate"]) == 0
    out, err = capsys.readouterr()
    assert out == "   0: (b7) r0 = 1\n   1: (95) exit\n"
    assert err == (f"pybpf disasm: {f}: note: 5 trailing bytes after the last 8-byte "
                   "instruction were not shown\n")


def test_run_of_assembly_using_maps_says_how_to_get_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'insn 0: instruction refers to map 'm', which was not given (have: none)'."""
    f = tmp_path / "m.s"
    f.write_text("r1 = map_fd(counts) ll\nr0 = 0\nexit\n")
    assert main(["run", str(f)]) == 2
    err = _err(capsys)
    assert f"{f}: the program uses map(s) counts, which `pybpf run` cannot create" in err


@pytest.mark.kernel
def test_feature_system_config_matches_bpftool(capsys: pytest.CaptureFixture[str]) -> None:
    """Before: no JIT hardening/kallsyms/limit lines, no CONFIG_* lines, no system call
    section, and no "syscall_config" in the JSON."""
    import json
    import shutil
    import subprocess

    if not shutil.which("bpftool"):
        pytest.skip("no bpftool to compare with")
    ref = subprocess.run(["bpftool", "feature", "probe"], capture_output=True, text=True).stdout
    assert main(["feature", "probe"]) == 0
    ours = capsys.readouterr().out
    head = ref.split("\nScanning eBPF program types", 1)[0]
    assert ours.split("\nScanning eBPF program types", 1)[0] == head
    ref_j = json.loads(subprocess.run(["bpftool", "feature", "probe", "-j"],
                                      capture_output=True, text=True).stdout)
    assert main(["feature", "probe", "--json"]) == 0
    ours_j = json.loads(capsys.readouterr().out)
    assert ours_j["system_config"] == ref_j["system_config"]
    assert ours_j["syscall_config"] == ref_j["syscall_config"]
    assert list(ours_j) == list(ref_j)
