"""``pybpf btf``: dump and member queries, on a file we build and on vmlinux."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from pybpf.btf import Btf, BtfBuilder, dump_c
from pybpf.cli.main import main


@pytest.fixture()
def btf_file(tmp_path: Path) -> Path:
    b = BtfBuilder()
    u32 = b.int_type("unsigned int", 4)
    ch = b.int_type("char", 1, char=True)
    event = b.c_struct("event", [("pid", u32), ("comm", b.array(ch, 8))])
    b.c_struct("outer", [("n", u32), ("ev", b.ptr(event))])
    p = tmp_path / "t.btf"
    p.write_bytes(b.encode())
    return p


def _elf_with_btf(blob: bytes) -> bytes:
    """A minimal little-endian ELF64 relocatable object holding ``.BTF``."""
    shstr = b"\0.shstrtab\0.BTF\0"
    body = shstr + blob
    shoff = 64 + len(body)
    ehdr = (b"\x7fELF\x02\x01\x01" + b"\0" * 9
            + struct.pack("<HHIQQQIHHHHHH", 1, 247, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 3, 1))
    null = b"\0" * 64
    sh_str = struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, 64, len(shstr), 0, 0, 1, 0)
    sh_btf = struct.pack("<IIQQQQIIQQ", 11, 1, 0, 0, 64 + len(shstr), len(blob), 0, 0, 4, 0)
    return ehdr + body + null + sh_str + sh_btf


def test_dump_type_as_c(btf_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "dump", "--file", str(btf_file), "--type", "event"]) == 0
    btf = Btf.from_file(str(btf_file))
    want = dump_c(btf, btf.find("event"))
    assert capsys.readouterr().out == want
    assert want.startswith("struct event {\n\tunsigned int pid;\n\tchar comm[8];\n")


def test_dump_json_and_raw(btf_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "dump", "--file", str(btf_file), "--type", "outer", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["types"][0]
    assert (d["kind"], d["name"], d["size"]) == ("STRUCT", "outer", 16)
    assert [m["bits_offset"] for m in d["members"]] == [0, 64]
    assert main(["btf", "dump", "--file", str(btf_file)]) == 0
    raw = capsys.readouterr().out.splitlines()
    assert raw[0] == "[1] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)"
    assert sum(1 for x in raw if x.startswith("[")) == Btf.from_file(str(btf_file)).nr_types - 1


def test_dump_from_elf_object(btf_file: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    obj = tmp_path / "prog.bpf.o"
    obj.write_bytes(_elf_with_btf(btf_file.read_bytes()))
    assert main(["btf", "dump", "--file", str(obj), "--type", "event"]) == 0
    assert "char comm[8];" in capsys.readouterr().out


def test_member_query(btf_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "member", "outer", "ev->comm[2]", "--file", str(btf_file),
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["derefs"], d["offset"], d["size"], d["type"]) == ([8], 6, 1, "char")


@pytest.mark.parametrize("argv,code,msg", [
    (["--type", "nope"], 1, "no type named 'nope'"),
    (["--type", "event", "--kind", "bogus"], 2, "unknown BTF kind 'bogus'"),
    (["--id", "999"], 1, "type id 999 does not exist"),
    (["--format", "c", "--kind", "struct"], 2, "cannot be limited to one --kind"),
])
def test_errors_are_one_line(btf_file: Path, capsys: pytest.CaptureFixture[str],
                             argv: list[str], code: int, msg: str) -> None:
    assert main(["btf", "dump", "--file", str(btf_file), *argv]) == code
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and err.startswith("pybpf btf: ")


def test_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x01\x02" * 20)
    assert main(["btf", "dump", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.btf: bad BTF magic" in err and err.count("\n") == 1
    assert main(["btf", "dump", "--file", str(tmp_path / "missing")]) == 1
    assert "no such BTF file" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"), reason="no kernel BTF")
def test_vmlinux_member(capsys: pytest.CaptureFixture[str]) -> None:
    from pybpf.btf import vmlinux

    assert main(["btf", "member", "task_struct", "real_parent.pid"]) == 0
    out = capsys.readouterr().out
    f = vmlinux().member_path("task_struct", "real_parent.pid")
    assert out == (f"task_struct.real_parent.pid: *(+{f.derefs[0]}) -> offset {f.offset}, "
                   "size 4, type pid_t\n")
