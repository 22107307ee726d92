"""Symbols: ELF reader, ld.so.cache, uprobe offsets, kallsyms, /proc/PID/maps, USDT notes."""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess

import pytest
from workloads.fixtures import workload  # noqa: F401

from pybpf.errors import BadInput, PybpfError
from pybpf.symbols import (
    ElfFile,
    Kallsyms,
    UserSymbolizer,
    find_library,
    find_probes,
    parse_arg,
    parse_args,
    parse_maps,
    resolve_binary,
    uprobe_offset,
)
from pybpf.symbols.ldcache import parse_ld_cache
from pybpf.symbols.usdt import canonical_reg

LIBC = find_library("libc")


def _nm(path: str, name: str) -> int:
    out = subprocess.run(["nm", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise AssertionError(f"nm: {name} not in {path}")


def test_elf_symbols_and_offsets_match_nm(workload):  # noqa: F811
    elf = ElfFile(workload)
    sym = elf.symbol("pybpf_target")
    assert sym is not None and sym.is_func and sym.size > 0
    assert sym.value == _nm(workload, "pybpf_target")
    path, off = uprobe_offset(workload, "pybpf_target")
    assert path == os.path.realpath(workload)
    with open(workload, "rb") as f:  # the file bytes at the offset are the function's code
        f.seek(off)
        code = f.read(sym.size)
    text = elf.section(".text")
    assert text is not None
    assert code == elf.section_data(text)[sym.value - text.addr:sym.value - text.addr + sym.size]
    assert elf.symbolize(sym.value + 1) == (sym, 1)
    assert uprobe_offset(workload, "pybpf_target", 4)[1] == off + 4
    with pytest.raises(PybpfError, match="past the end"):
        uprobe_offset(workload, "pybpf_target", sym.size)
    with pytest.raises(PybpfError, match="no symbol"):
        uprobe_offset(workload, "does_not_exist")


def test_not_elf(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(b"hello, not an elf file")
    with pytest.raises(BadInput, match="not an ELF file"):
        ElfFile(str(p))
    with pytest.raises(BadInput, match="no such file"):
        ElfFile(str(tmp_path / "missing"))


@pytest.mark.skipif(LIBC is None, reason="no libc found")
def test_library_resolution_like_the_linker():
    assert LIBC is not None
    assert os.path.basename(LIBC).startswith("libc.so.")
    assert find_library("c") == LIBC == find_library("libc.so.6")
    assert resolve_binary("libc") == os.path.realpath(LIBC)
    assert resolve_binary("sh") == os.path.realpath(subprocess.run(
        ["sh", "-c", "command -v sh"], capture_output=True, text=True).stdout.strip())
    with pytest.raises(PybpfError, match="not a file"):
        resolve_binary("no-such-program-or-lib-xyz")
    path, off = uprobe_offset("libc", "malloc")
    elf = ElfFile(path)
    malloc = elf.symbol("malloc")
    assert malloc is not None and off == elf.vaddr_to_offset(malloc.value)


def _cache_blob(entries: list[tuple[int, str, str]]) -> bytes:
    strings = b""
    offs = []
    header = 48
    table = 24 * len(entries)
    for _, k, v in entries:
        ko = header + table + len(strings)
        strings += k.encode() + b"\0"
        vo = header + table + len(strings)
        strings += v.encode() + b"\0"
        offs.append((ko, vo))
    out = b"glibc-ld.so.cache1.1" + struct.pack("<II", len(entries), len(strings)) + bytes(20)
    for (flags, _, _), (ko, vo) in zip(entries, offs, strict=True):
        out += struct.pack("<iIIIQ", flags, ko, vo, 0, 0)
    return out + strings


def test_parse_ld_cache_filters_by_arch():
    blob = _cache_blob([(0x0303, "libfoo.so.1", "/lib64/libfoo.so.1"),
                        (0x0003, "libfoo.so.1", "/lib32/libfoo.so.1"),
                        (0x0A03, "libbar.so", "/arm/libbar.so")])
    assert parse_ld_cache(blob, "x86_64") == {"libfoo.so.1": "/lib64/libfoo.so.1"}
    assert parse_ld_cache(blob, "aarch64") == {"libbar.so": "/arm/libbar.so"}
    assert parse_ld_cache(b"garbage") == {}


def test_kallsyms_lookup():
    ks = Kallsyms("ffffffff81000000 T _stext\nffffffff81000100 T do_thing\n"
                  "ffffffff81000200 t helper\t[mymod]\n")
    assert ks.address("do_thing") == 0xFFFFFFFF81000100
    sym, off = ks.lookup(0xFFFFFFFF81000110) or (None, 0)
    assert sym is not None and (sym.name, off) == ("do_thing", 0x10)
    assert ks.format(0xFFFFFFFF81000204) == "helper+4"
    assert ks.lookup(0x1000) is None
    assert ks.symbols[-1].module == "mymod"
    zeros = Kallsyms("0000000000000000 T a\n0000000000000000 T b\n")
    assert zeros.restricted and zeros.format(0x10) == "0x10"


def test_parse_maps():
    text = ("55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234 /usr/bin/x\n"
            "55d0c0a01000-55d0c0a05000 r-xp 00001000 08:01 1234 /usr/bin/x\n"
            "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]\n"
            "7ffe0000-7ffe1000 rw-p 00000000 00:00 0\n")
    maps = parse_maps(text)
    assert [m.start for m in maps] == sorted(m.start for m in maps)  # sorted for bisect
    by_start = {m.start: m for m in maps}
    m = by_start[0x55D0C0A01000]
    assert (m.end, m.perms, m.offset, m.inode, m.path) == (0x55D0C0A05000, "r-xp", 0x1000, 1234,
                                                           "/usr/bin/x")
    assert by_start[0x7FFE0000].path == ""


@pytest.mark.skipif(LIBC is None, reason="no libc found")
def test_user_symbolizer_resolves_own_libc_function():
    libc = ctypes.CDLL(LIBC)
    addr = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    assert addr
    sy = UserSymbolizer(os.getpid())
    name, off, path = sy.resolve(addr + 2)
    assert os.path.realpath(path) == os.path.realpath(LIBC)
    elf = ElfFile(os.path.realpath(LIBC))
    getpid = elf.symbol("getpid")
    hit = elf.symbol(name)
    assert getpid is not None and hit is not None and hit.value == getpid.value and off == 2
    assert sy.format(addr) == name
    assert sy.resolve(8)[0] == ""  # unmapped


@pytest.mark.parametrize("spec,expect", [
    ("-4@%eax", (4, True, "reg", "ax", 0, "")),
    ("8@%rdi", (8, False, "reg", "di", 0, "")),
    ("2@%r9w", (2, False, "reg", "r9", 0, "")),
    ("1@%sil", (1, False, "reg", "si", 0, "")),
    ("-8@-16(%rbp)", (8, True, "deref", "bp", -16, "")),
    ("4@(%rsp)", (4, False, "deref", "sp", 0, "")),
    ("8@0x10(%r12,%rax,8)", (8, False, "deref", "r12", 16, "ax")),
    ("4@$-5", (4, False, "const", "", -5, "")),
])
def test_usdt_arg_parsing(spec, expect):
    a = parse_arg(spec)
    assert (a.size, a.signed, a.kind, a.reg, a.offset, a.index_reg) == expect


def test_usdt_arg_errors():
    for bad in ("4", "3@%eax", "4@%xyz", "4@nonsense"):
        with pytest.raises(BadInput):
            parse_arg(bad)
    assert parse_args("") == []
    assert canonical_reg("%r15d") == "r15"
    sym = parse_arg("8@counter+8(%rip)")
    assert (sym.kind, sym.reg, sym.symbol, sym.offset) == ("deref", "ip", "counter", 8)


def test_usdt_notes_of_workload(workload):  # noqa: F811
    probe, = find_probes(workload)
    assert (probe.provider, probe.name) == ("pybpf", "tick")
    elf = ElfFile(workload)
    sem = elf.symbol("pybpf_tick_semaphore")
    assert sem is not None and probe.semaphore == sem.value
    probes_sec = elf.section(".probes")
    assert probes_sec is not None
    assert probe.semaphore_offset == sem.value - probes_sec.addr + probes_sec.offset
    with open(workload, "rb") as f:  # the probe site is a nop
        f.seek(probe.file_offset)
        assert f.read(1) == b"\x90"
    assert [a.size for a in probe.args] == [4, 8]
    assert find_probes(workload, "pybpf", "nope") == []
