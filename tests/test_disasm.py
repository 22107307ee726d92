"""The disassembler: bpftool-exact text, asm that assembles back, round trips, the CLI."""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pybpf.asm import DecodeError, Insn, decode, encode, lddw
from pybpf.asm.assembler import assemble, assemble_program
from pybpf.asm.disasm import disassemble, disassemble_bytes, format_insn, jump_labels
from pybpf.asm.opcodes import Alu, Class, Jmp, Mode, Size, Source
from pybpf.cli.main import main
from pybpf.spec import MapRef


def every_family() -> list[Insn]:
    """One program holding every instruction family RFC 9669 defines (plus legacy packet loads)."""
    p: list[Insn] = []
    for cls in (Class.ALU, Class.ALU64):
        for op in Alu:
            if op in (Alu.NEG, Alu.END):
                continue
            p.append(Insn(cls | op | Source.K, 1, 0, 0, -7 if op != Alu.MOV else 0x12345))
            p.append(Insn(cls | op | Source.X, 2, 3, 0, 0))
        p.append(Insn(cls | Alu.NEG, 4))
        for width in (16, 32, 64):
            p.append(Insn(cls | Alu.END, 5, 0, 0, width))
        for op in (Alu.DIV, Alu.MOD):
            p.append(Insn(cls | op | Source.K, 1, 0, 1, 3))
            p.append(Insn(cls | op | Source.X, 1, 2, 1, 0))
        for width in (8, 16) + ((32,) if cls == Class.ALU64 else ()):
            p.append(Insn(cls | Alu.MOV | Source.X, 6, 7, width, 0))
    for width in (16, 32, 64):
        p.append(Insn(Class.ALU | Alu.END | Source.X, 5, 0, 0, width))  # to big-endian
    for size in Size:
        p.append(Insn(Class.LDX | Mode.MEM | size, 0, 1, -8, 0))
        p.append(Insn(Class.ST | Mode.MEM | size, 10, 0, -16, -2))
        p.append(Insn(Class.STX | Mode.MEM | size, 10, 3, 24, 0))
        if size != Size.DW:
            p.append(Insn(Class.LDX | Mode.MEMSX | size, 2, 10, -4, 0))
            p.append(Insn(Class.LD | Mode.ABS | size, 0, 0, 0, 0x10))
            p.append(Insn(Class.LD | Mode.IND | size, 0, 4, 0, 6))
    for size in (Size.W, Size.DW):
        for imm in (0x00, 0x40, 0x50, 0xA0, 0x01, 0x41, 0x51, 0xA1, 0xE1, 0xF1):
            p.append(Insn(Class.STX | Mode.ATOMIC | size, 10, 1, -8, imm))
    for cls in (Class.JMP, Class.JMP32):
        for jop in Jmp:
            if jop in (Jmp.JA, Jmp.CALL, Jmp.EXIT):
                continue
            p.append(Insn(cls | jop | Source.K, 1, 0, 2, -5))
            p.append(Insn(cls | jop | Source.X, 1, 2, -3, 0))
    p += [
        Insn(Class.JMP | Jmp.JA, 0, 0, 1, 0),
        Insn(Class.JMP32 | Jmp.JA, 0, 0, 0, -4),
        Insn(Class.JMP | Jmp.CALL, 0, 0, 0, 1),
        Insn(Class.JMP | Jmp.CALL, 0, 1, 0, 3),
        Insn(Class.JMP | Jmp.CALL, 0, 2, 0, 1234),
        Insn(Class.JMP | Jmp.CALL | Source.X, 8, 0, 0, 0),
        *lddw(1, 0x1122334455667788),
        *lddw(1, 5, 1),
        Insn(0x18, 2, 2, 0, 7), Insn(0, 0, 0, 0, 64),
        *lddw(3, 99, 3),
        *lddw(4, 2, 4),
        *lddw(5, 1, 5),
        Insn(0x18, 6, 6, 0, 1), Insn(0, 0, 0, 0, 12),
        Insn(Class.JMP | Jmp.EXIT),
        Insn(Class.JMP | Jmp.EXIT),
    ]
    return p


PROGRAM = every_family()


@pytest.mark.parametrize("syntax", ["kernel", "asm"])
@pytest.mark.parametrize("labels", [False, True])
def test_round_trip_every_family(syntax: str, labels: bool) -> None:
    raw = encode(PROGRAM)
    back = decode(raw)
    assert back == PROGRAM
    text = disassemble(back, syntax, labels=labels)
    assert encode(assemble(text, "rt.s")) == raw


def test_every_family_round_trips_one_line_at_a_time() -> None:
    i = 0
    while i < len(PROGRAM):
        ins = PROGRAM[i]
        nxt = PROGRAM[i + 1] if ins.is_wide else None
        for syntax in ("kernel", "asm"):
            line = format_insn(ins, nxt, syntax=syntax, index=i)
            assert assemble(line) == [ins] + ([nxt] if nxt else []), (syntax, line)
        i += 2 if nxt else 1


KERNEL_TEXT = [
    (Insn(0xB7, 0, 0, 0, 1), "r0 = 1"),
    (Insn(0xB4, 1, 0, 0, -1), "w1 = -1"),
    (Insn(0x0F, 1, 2), "r1 += r2"),
    (Insn(0x3F, 1, 2, 1), "r1 s/= r2"),
    (Insn(0x94, 1, 0, 1, 3), "w1 s%= 3"),
    (Insn(0xC7, 1, 0, 0, 3), "r1 s>>= 3"),
    (Insn(0x87, 3), "r3 = -r3"),
    (Insn(0x84, 3), "w3 = -w3"),
    (Insn(0xBF, 0, 1, 8), "r0 = (s8)r1"),
    (Insn(0xBC, 0, 1, 16), "w0 = (s16)w1"),
    (Insn(0xDC, 0, 0, 0, 16), "r0 = be16 r0"),
    (Insn(0xD4, 0, 0, 0, 64), "r0 = le64 r0"),
    (Insn(0xD7, 2, 0, 0, 32), "r2 = bswap32 r2"),
    (Insn(0x79, 0, 1, 8), "r0 = *(u64 *)(r1 +8)"),
    (Insn(0x61, 0, 1, 0), "r0 = *(u32 *)(r1 +0)"),
    (Insn(0x89, 0, 1, -2), "r0 = *(s16 *)(r1 -2)"),
    (Insn(0x63, 10, 1, -4), "*(u32 *)(r10 -4) = r1"),
    (Insn(0x72, 10, 0, -1, 0), "*(u8 *)(r10 -1) = 0"),
    (Insn(0xDB, 10, 1, -8, 0x00), "lock *(u64 *)(r10 -8) += r1"),
    (Insn(0xC3, 10, 1, -8, 0x50), "lock *(u32 *)(r10 -8) &= r1"),
    (Insn(0xDB, 10, 1, -8, 0x01), "r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)"),
    (Insn(0xC3, 10, 1, -8, 0xA1), "r1 = atomic_fetch_xor((u32 *)(r10 -8), r1)"),
    (Insn(0xDB, 10, 1, -8, 0xE1), "r1 = atomic64_xchg((u64 *)(r10 -8), r1)"),
    (Insn(0xDB, 10, 1, -8, 0xF1), "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)"),
    (Insn(0x30, 0, 0, 0, 16), "r0 = *(u8 *)skb[16]"),
    (Insn(0x40, 0, 1, 0, 4), "r0 = *(u32 *)skb[r1 + 4]"),
    (Insn(0x25, 1, 0, 3, 5), "if r1 > 0x5 goto pc+3"),
    (Insn(0x55, 1, 0, -2, -1), "if r1 != 0xffffffff goto pc-2"),
    (Insn(0xCE, 1, 2, 0), "if w1 s< w2 goto pc+0"),
    (Insn(0x05, 0, 0, 4), "goto pc+4"),
    (Insn(0x06, 0, 0, 0, -9), "gotol pc-9"),
    (Insn(0x85, 0, 0, 0, 1), "call bpf_map_lookup_elem#1"),
    (Insn(0x85, 0, 0, 0, 0x7FFF), "call unknown#32767"),
    (Insn(0x85, 0, 1, 0, 3), "call pc+3"),
    (Insn(0x85, 0, 2, 0, 77), "call kernel-function#77"),
    (Insn(0x8D, 8), "callx r8"),
    (Insn(0x95), "exit"),
]


@pytest.mark.parametrize(("insn", "text"), KERNEL_TEXT)
def test_kernel_text_matches_bpftool(insn: Insn, text: str) -> None:
    assert format_insn(insn) == text


@pytest.mark.parametrize(
    ("pair", "text"),
    [
        (lddw(1, 0x1122334455667788), "r1 = 0x1122334455667788"),
        (lddw(1, 5, 1), "r1 = map[id:5]"),
        ((Insn(0x18, 1, 2, 0, 5), Insn(0, 0, 0, 0, 16)), "r1 = map[id:5][0]+16"),
        ((Insn(0x18, 1, 6, 0, 2), Insn(0, 0, 0, 0, 8)), "r1 = map[idx:2]+8"),
        (lddw(1, 3, 4), "r1 = subprog[+3]"),
    ],
)
def test_kernel_lddw_text_matches_bpftool(pair: tuple[Insn, Insn], text: str) -> None:
    assert format_insn(pair[0], pair[1]) == text


ASM_TEXT = [
    (Insn(0xB7, 0, 0, 0, 1), "mov %r0, 1"),
    (Insn(0xB4, 1, 0, 0, 0x7FFFFFFF), "mov32 %r1, 0x7fffffff"),
    (Insn(0xBF, 2, 1, 16), "movsx1664 %r2, %r1"),
    (Insn(0x3C, 1, 2, 1), "sdiv32 %r1, %r2"),
    (Insn(0xD7, 0, 0, 0, 16), "bswap16 %r0"),
    (Insn(0x91, 0, 1, 2), "ldxbsx %r0, [%r1+2]"),
    (Insn(0x7A, 10, 0, -8, -1), "stdw [%r10-8], -1"),
    (Insn(0xC3, 10, 1, -4, 0x01), "lock fetch add32 [%r10-4], %r1"),
    (Insn(0xDB, 10, 1, -8, 0xF1), "lock cmpxchg [%r10-8], %r1"),
    (Insn(0x5E, 1, 2, -1), "jne32 %r1, %r2, -1"),
    (Insn(0x85, 0, 1, 0, 2), "call local +2"),
    (Insn(0x28, 0, 0, 0, 4), "ldabsh 4"),
]


@pytest.mark.parametrize(("insn", "text"), ASM_TEXT)
def test_asm_text(insn: Insn, text: str) -> None:
    assert format_insn(insn, syntax="asm") == text


def test_bpftool_listing_layout_with_opcodes() -> None:
    prog = [Insn(0xB7, 0, 0, 0, 1), *lddw(1, 0xFF), Insn(0x95)]
    assert disassemble(prog, opcodes=True) == (
        "   0: (b7) r0 = 1\n"
        "       b7 00 00 00 01 00 00 00\n"
        "   1: (18) r1 = 0xff\n"
        "       18 01 00 00 ff 00 00 00 00 00 00 00 00 00 00 00\n"
        "   3: (95) exit\n"
        "       95 00 00 00 00 00 00 00\n"
    )


def test_labels_name_jumps_and_subprograms() -> None:
    prog = assemble("""
        call local f
        jeq %r0, 0, out
        mov %r0, 1
    out:
        exit
    f:  mov %r0, 7
        exit
    """)
    assert jump_labels(prog) == {3: "LBB0_1", 4: "sub_4"}
    assert disassemble(prog, "asm", labels=True) == (
        "call local sub_4\njeq %r0, 0, LBB0_1\nmov %r0, 1\nLBB0_1:\nexit\n"
        "sub_4:\nmov %r0, 7\nexit\n"
    )
    assert disassemble(prog, labels=True).splitlines()[:2] == [
        "   0: (85) call sub_4", "   1: (15) if r0 == 0x0 goto LBB0_1"]


def test_map_refs_and_callbacks_name_things() -> None:
    asm = assemble_program("r1 = map_fd(counts)\nr2 = map_value(cfg) + 4\ncall kfunc 42\nexit")
    kernel = disassemble(asm.insns, map_refs=asm.map_refs, call_name=lambda i: "bpf_rcu_read_lock")
    assert kernel.splitlines()[:3] == [
        "   0: (18) r1 = map[name:counts]",
        "   2: (18) r2 = map[name:cfg][0]+4",
        "   4: (85) call bpf_rcu_read_lock#42",
    ]
    text = disassemble(asm.insns, "asm", map_refs=asm.map_refs)
    assert text.splitlines()[:2] == ["lddw %r1, map_by_fd(counts)",
                                     "lddw %r2, map_val(map_by_fd(cfg)) + 4"]
    again = assemble_program(text)
    assert again.insns == asm.insns and again.map_refs == asm.map_refs
    custom = disassemble(asm.insns[:2], imm_name=lambda a, b: f"map[id:{a.imm + 40}]")
    assert custom == "   0: (18) r1 = map[id:40]\n"
    assert MapRef(0, "counts") == asm.map_refs[0]


def test_xlated_calls_print_like_bpftool_with_callbacks() -> None:
    # In an xlated program the kernel keeps the callee's offset in `off` and puts the JIT
    # address delta in imm; bpftool names both through kallsyms.
    prog = [Insn(0x85, 0, 0, 0, 269488), Insn(0x85, 0, 1, 20, 1), Insn(0x95)]
    text = disassemble(prog, call_name=lambda i: "bpf_ktime_get_ns",
                       subprog_name=lambda i: f"{i.off:+d}#bpf_prog_cf40_sub")
    assert text.splitlines()[:2] == ["   0: (85) call bpf_ktime_get_ns#269488",
                                     "   1: (85) call pc+20#bpf_prog_cf40_sub"]
    assert disassemble(prog).splitlines()[:2] == ["   0: (85) call unknown#269488",
                                                  "   1: (85) call pc+1"]
    # reserved fields do not hide an instruction in kernel syntax (bpftool shows it) ...
    assert format_insn(prog[1]) == "call pc+1"
    # ... but asm syntax must re-assemble exactly, so it spells the fields out
    assert format_insn(prog[1], syntax="asm") == ".insn 0x85, 0, 1, 20, 1"
    assert assemble(text)[1] == Insn(0x85, 0, 1, 0, 20)


def test_decode_errors_name_the_instruction() -> None:
    raw = encode([Insn(0xB7, 0, 0, 0, 1), Insn(0xFF, 0, 0, 0, 0)])
    with pytest.raises(DecodeError, match=r"^instruction 1: unknown opcode 0xff$"):
        disassemble_bytes(raw)
    text = disassemble_bytes(raw, "asm", validate=False)
    assert text == "mov %r0, 1\n.insn 0xff, 0, 0, 0, 0\n"
    assert encode(assemble(text, strict=False)) == raw


# -- CLI ---------------------------------------------------------------------------------

SOURCE = "mov %r0, 0\nr1 = 0x1122334455667788 ll\nif r1 == 0 goto +1\nr0 = 2\nexit\n"
SOURCE_HEX = ("b700000000000000" "18010000887766550000000044332211"
              "1501010000000000" "b700000002000000" "9500000000000000")


def test_cli_asm_writes_bin_next_to_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "prog.s"
    src.write_text(SOURCE)
    assert main(["asm", str(src)]) == 0
    assert (tmp_path / "prog.bin").read_bytes().hex() == SOURCE_HEX
    assert "6 instructions (48 bytes)" in capsys.readouterr().out
    assert main(["asm", str(src), "-o", str(tmp_path / "x.o")]) == 0
    assert (tmp_path / "x.o").read_bytes().hex() == SOURCE_HEX
    assert main(["asm", str(src), "--hex"]) == 0
    out = capsys.readouterr().out.split()
    assert out[-6:] == [SOURCE_HEX[i:i + 16] for i in range(0, 96, 16)]


def test_cli_disasm_both_syntaxes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "prog.bin"
    binary.write_bytes(bytes.fromhex(SOURCE_HEX))
    assert main(["disasm", str(binary)]) == 0
    assert capsys.readouterr().out == (
        "   0: (b7) r0 = 0\n"
        "   1: (18) r1 = 0x1122334455667788\n"
        "   3: (15) if r1 == 0x0 goto pc+1\n"
        "   4: (b7) r0 = 2\n"
        "   5: (95) exit\n"
    )
    assert main(["disasm", str(binary), "--syntax", "asm", "--labels"]) == 0
    text = capsys.readouterr().out
    assert text == ("mov %r0, 0\nlddw %r1, 0x1122334455667788\njeq %r1, 0, LBB0_1\n"
                    "mov %r0, 2\nLBB0_1:\nexit\n")
    assert encode(assemble(text)).hex() == SOURCE_HEX


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.s"
    bad.write_text("mov %r0, 1\nr0 = *(u64 *)(r1 + )\n")
    assert main(["asm", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"pybpf asm: {bad}:2:20: expected offset, found ')'\n"

    trunc = tmp_path / "t.bin"
    trunc.write_bytes(bytes.fromhex(SOURCE_HEX)[:20])
    assert main(["disasm", str(trunc)]) == 2
    assert capsys.readouterr().err == (
        f"pybpf disasm: {trunc}: instruction 2: program length 20 is not a multiple of 8 bytes\n")

    obj = tmp_path / "x.o"
    obj.write_bytes(b"\x7fELF" + bytes(60))
    code = main(["disasm", str(obj)])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1
    assert "ELF object file" in err or "x.o" in err


# -- against the real bpftool ----------------------------------------------------------------

XLATED_SOURCE = """
    r0 = 0
    r1 = 5
    *(u64 *)(r10 - 8) = r1
    *(u32 *)(r10 - 12) = 7
    r2 = *(u64 *)(r10 - 8)
    r3 = *(s32 *)(r10 - 12)
    lock *(u64 *)(r10 - 8) += r2
    r2 = atomic_fetch_add((u64 *)(r10 - 8), r2)
    r4 = 9
    r4 = xchg_64(r10 - 8, r4)
    r0 = cmpxchg_64(r10 - 8, r0, r1)
    w5 = w3
    w5 s/= 3
    r5 s%= r1
    r6 = (s8)r5
    r6 = bswap16 r6
    r6 = be32 r6
    r7 = r6
    r7 = -r7
    if r7 s> 3 goto +1
    gotol +1
    r7 = 2
    w8 = 0x7fffffff
    r8 ^= r7
    if w8 & 0x10 goto +0
    r0 = 0x1122334455667788 ll
    r0 = 0
    exit
"""


def _load_socket_filter(raw: bytes) -> int:
    """BPF_PROG_LOAD through ctypes (independent of pybpf.kernel); returns the fd."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(raw)
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    attr = bytearray(128)
    struct.pack_into("<IIQQIIQ", attr, 0, 1, len(raw) // 8, ctypes.addressof(buf),
                     ctypes.addressof(lic), 1, len(log), ctypes.addressof(log))
    cattr = (ctypes.c_char * len(attr)).from_buffer(attr)
    fd = libc.syscall(321, 5, cattr, len(attr))  # SYS_bpf (x86_64), BPF_PROG_LOAD
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{os.strerror(err)}: {log.value.decode()[-400:]}")
    return int(fd)


def _prog_id(fd: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    info = ctypes.create_string_buffer(256)
    attr = bytearray(struct.pack("<IIQ", fd, 256, ctypes.addressof(info)))
    cattr = (ctypes.c_char * len(attr)).from_buffer(attr)
    assert libc.syscall(321, 15, cattr, len(attr)) == 0  # BPF_OBJ_GET_INFO_BY_FD
    return int(struct.unpack_from("<I", info.raw, 4)[0])


@pytest.mark.kernel
def test_kernel_syntax_is_bpftool_exact_on_an_xlated_program(tmp_path: Path) -> None:
    bpftool = shutil.which("bpftool")
    if bpftool is None or platform.machine() != "x86_64":
        pytest.skip("needs bpftool on x86_64")
    fd = _load_socket_filter(encode(assemble(XLATED_SOURCE)))
    try:
        pid = _prog_id(fd)
        out = tmp_path / "xlated.bin"
        text = subprocess.run([bpftool, "prog", "dump", "xlated", "id", str(pid)],
                              check=True, capture_output=True, text=True).stdout
        subprocess.run([bpftool, "prog", "dump", "xlated", "id", str(pid), "file", str(out)],
                       check=True, capture_output=True)
    finally:
        os.close(fd)
    xlated = decode(out.read_bytes(), validate=False)
    ours = disassemble(xlated).splitlines()
    theirs = [line for line in text.splitlines() if line.strip() and ":" in line]
    assert len(ours) == len(theirs) >= 25
    # A bpftool older than cpu v4 (7.1 on Debian 12) misprints v4 instructions
    # ("BUG_ldx_81", "w5 /= 3" for sdiv): compare those only when it knows them.
    old_bpftool = any("BUG_" in line for line in theirs)
    compared = 0
    for mine, bpftools in zip(ours, theirs, strict=True):
        index = int(mine.split(":")[0])
        if old_bpftool and _is_cpu_v4(xlated[index]):
            continue
        assert mine == bpftools
        compared += 1
    assert compared >= 20
    if not old_bpftool:  # bpftool's own listing assembles back to the xlated bytes
        assert encode(assemble(text, "bpftool.txt", strict=False)) == out.read_bytes()


def _is_cpu_v4(ins: Insn) -> bool:
    """Instructions added with cpu v4 (sign extension, sdiv/smod, bswap, gotol)."""
    op = ins.opcode
    alu = ins.cls in (Class.ALU, Class.ALU64)
    return (
        (ins.cls == Class.LDX and ins.mode == Mode.MEMSX)
        or (alu and ins.alu_op in (Alu.DIV, Alu.MOD, Alu.MOV) and ins.off != 0)
        or op == Class.ALU64 | Alu.END
        or op == Class.JMP32 | Jmp.JA
    )


# -- against llvm-objdump ----------------------------------------------------------------------

C_SOURCE = r"""
typedef unsigned long long u64; typedef unsigned int u32;
static u64 (*bpf_ktime_get_ns)(void) = (void *) 5;
static __attribute__((noinline)) u32 sub(u32 a, u32 b) { return a / (b | 1) + (a % 7); }
__attribute__((section("socket"), used)) int prog(u64 *ctx) {
    volatile u64 x = bpf_ktime_get_ns();
    volatile u64 big = 0x1122334455667788ULL;
    u64 v = x;
    __sync_fetch_and_add(ctx, 1);
    u64 old = __sync_fetch_and_add(ctx, v);
    __sync_val_compare_and_swap(ctx, old, 5);
    __sync_fetch_and_xor(ctx, 16);
    u32 w = (u32)x >> 3;
    w = __builtin_bswap32(w);
    return sub((u32)v, w) + (big >> 60) + ((long long)x < 0 ? 1 : 2) + (w < 7 ? 3 : 4);
}
"""


def test_llvm_objdump_listing_assembles_to_the_object_bytes(tmp_path: Path) -> None:
    tools = [shutil.which(t) for t in ("clang", "llvm-objdump", "llvm-objcopy")]
    if None in tools:
        pytest.skip("needs clang, llvm-objdump and llvm-objcopy")
    clang, objdump, objcopy = (str(t) for t in tools)
    src, obj = tmp_path / "p.c", tmp_path / "p.o"
    src.write_text(C_SOURCE)
    subprocess.run([clang, "-O2", "-target", "bpf", "-mcpu=v3", "-c", str(src), "-o", str(obj)],
                   check=True, capture_output=True)
    raw = b""
    for section in (".text", "socket"):
        out = tmp_path / f"{section}.bin"
        subprocess.run([objcopy, "-O", "binary", f"--only-section={section}", str(obj), str(out)],
                       check=True, capture_output=True)
        raw += out.read_bytes()
    listing = subprocess.run([objdump, "-d", str(obj)], check=True, capture_output=True,
                             text=True).stdout
    asm = assemble_program(listing, "objdump.txt")
    assert encode(asm.insns) == raw
    assert {"sub", "prog"} <= set(asm.labels)
    # our own output of those bytes, in both syntaxes, assembles back too
    for syntax in ("kernel", "asm"):
        assert encode(assemble(disassemble(decode(raw), syntax, labels=True))) == raw
