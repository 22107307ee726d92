"""The assembler: exact bytes for both syntaxes, labels, map references, errors."""

from __future__ import annotations

import pytest

from pybpf.asm import Insn, encode
from pybpf.asm.assembler import assemble, assemble_program
from pybpf.errors import BadInput
from pybpf.uapi import ProgType

# (line, expected bytes) — encodings worked out by hand from RFC 9669.
UBPF_LINES = [
    ("mov %r0, 1", "b700000001000000"),
    ("mov32 %r1, -1", "b4010000ffffffff"),
    ("mov %r1, r2", "bf21000000000000"),
    ("add64 %r1, %r2", "0f21000000000000"),
    ("sub32 %r3, 5", "1403000005000000"),
    ("mul %r4, %r5", "2f54000000000000"),
    ("div32 %r1, 0x10", "3401000010000000"),
    ("sdiv %r1, %r2", "3f21010000000000"),
    ("smod32 %r1, 3", "9401010003000000"),
    ("mod %r1, 3", "9701000003000000"),
    ("or %r1, 1", "4701000001000000"),
    ("and32 %r1, %r2", "5c21000000000000"),
    ("lsh %r1, 63", "670100003f000000"),
    ("rsh32 %r1, %r2", "7c21000000000000"),
    ("neg %r0", "8700000000000000"),
    ("neg32 %r9", "8409000000000000"),
    ("xor %r1, %r1", "af11000000000000"),
    ("arsh32 %r1, 3", "c401000003000000"),
    ("arsh %r1, %r2", "cf21000000000000"),
    ("movsx832 %r2, %r1", "bc12080000000000"),
    ("movsx1664 %r2, %r1", "bf12100000000000"),
    ("movsx3264 %r0, %r9", "bf90200000000000"),
    ("le16 %r0", "d400000010000000"),
    ("be32 %r1", "dc01000020000000"),
    ("bswap64 %r2", "d702000040000000"),
    ("swap16 %r0", "d700000010000000"),
    ("ldxb %r0, [%r1]", "7110000000000000"),
    ("ldxh %r0, [%r1+2]", "6910020000000000"),
    ("ldxw %r0, [%r10-4]", "61a0fcff00000000"),
    ("ldxdw %r0, [%r1+8]", "7910080000000000"),
    ("ldxbsx %r0, [%r1+2]", "9110020000000000"),
    ("ldxsh %r0, [%r1]", "8910000000000000"),
    ("ldxwsx %r3, [%r1-8]", "8113f8ff00000000"),
    ("stb [%r10-1], 0x80", "720affff80000000"),
    ("sth [%r10-2], 1", "6a0afeff01000000"),
    ("stw [%r10-4], -1", "620afcffffffffff"),
    ("stdw [%r10-8], 0x44332211", "7a0af8ff11223344"),
    ("stxb [%r1+3], %r2", "7321030000000000"),
    ("stxh [%r1], %r2", "6b21000000000000"),
    ("stxw [%r10-4], %r1", "631afcff00000000"),
    ("stxdw [%r10-8], %r1", "7b1af8ff00000000"),
    ("lock add [%r10-8], %r1", "db1af8ff00000000"),
    ("lock add32 [%r10-4], %r1", "c31afcff00000000"),
    ("lock fetch add [%r10-8], %r1", "db1af8ff01000000"),
    ("lock or [%r1], %r2", "db21000040000000"),
    ("lock fetch and32 [%r1], %r2", "c321000051000000"),
    ("lock fetch xor [%r1], %r2", "db210000a1000000"),
    ("lock xchg [%r10-8], %r1", "db1af8ffe1000000"),
    ("lock cmpxchg32 [%r10-4], %r1", "c31afcfff1000000"),
    ("lddw %r0, 0x1122334455667788", "18000000887766550000000044332211"),
    ("lddw %r1, 0xFFFFFFFF80000000", "1801000000000080" "00000000ffffffff"),
    ("ja +2", "0500020000000000"),
    ("ja -1", "0500ffff00000000"),
    ("ja32 +5", "0600000005000000"),
    ("jeq %r1, 0, +3", "1501030000000000"),
    ("jne %r2, 0xffffff80, -2", "5502feff80ffffff"),
    ("jne %r6, 0xffffffffffffff80, +0", "5506000080ffffff"),
    ("jsgt32 %r1, %r2, +1", "6e21010000000000"),
    ("jset %r1, 0x7, +0", "4501000007000000"),
    ("jlt32 %r1, 10, +1", "a60101000a000000"),
    ("jsle %r3, %r4, -5", "dd43fbff00000000"),
    ("call 1", "8500000001000000"),
    ("call bpf_map_lookup_elem", "8500000001000000"),
    ("call local +3", "8510000003000000"),
    ("call runtime 5", "8520000005000000"),
    ("callx %r8", "8d08000000000000"),
    ("call %r2", "8d02000000000000"),
    ("exit", "9500000000000000"),
    ("ldabsb 0x10", "3000000010000000"),
    ("ldabsh 4", "2800000004000000"),
    ("ldindw %r1, 4", "4010000004000000"),
    ("lddw %r1, map_by_fd(3)", "18110000030000000000000000000000"),
    ("lddw %r1, map_val(map_by_fd(3)) + 16", "18210000030000000000000010000000"),
    ("lddw %r1, map_by_idx(2)", "18510000020000000000000000000000"),
    ("lddw %r1, map_val(map_by_idx(2)) + 8", "18610000020000000000000008000000"),
    ("lddw %r1, var_addr(77)", "183100004d0000000000000000000000"),
]

KERNEL_LINES = [
    ("r0 = 1", "b700000001000000"),
    ("w0 = 1", "b400000001000000"),
    ("r1 = r2", "bf21000000000000"),
    ("w1 = w2", "bc21000000000000"),
    ("r0 = -1", "b7000000ffffffff"),
    ("r0 += 1", "0700000001000000"),
    ("w1 -= w2", "1c21000000000000"),
    ("r1 *= 3", "2701000003000000"),
    ("r1 /= r2", "3f21000000000000"),
    ("r1 s/= r2", "3f21010000000000"),
    ("w1 s%= 3", "9401010003000000"),
    ("r1 %= 5", "9701000005000000"),
    ("r1 |= 1", "4701000001000000"),
    ("r1 &= r2", "5f21000000000000"),
    ("r1 <<= 2", "6701000002000000"),
    ("w1 >>= w2", "7c21000000000000"),
    ("r1 s>>= 3", "c701000003000000"),
    ("r1 ^= r2", "af21000000000000"),
    ("r0 = -r0", "8700000000000000"),
    ("w3 = -w3", "8403000000000000"),
    ("r0 = (s8)r1", "bf10080000000000"),
    ("w0 = (s16)w1", "bc10100000000000"),
    ("r2 = (s32)r3", "bf32200000000000"),
    ("r0 = be16 r0", "dc00000010000000"),
    ("r0 = le64 r0", "d400000040000000"),
    ("r0 = bswap32 r0", "d700000020000000"),
    ("r0 = *(u64 *)(r1 + 8)", "7910080000000000"),
    ("r0 = *(u8 *)(r1 +0)", "7110000000000000"),
    ("w0 = *(u32 *)(r1 + 0x4)", "6110040000000000"),
    ("r0 = *(s16 *)(r1 + 2)", "8910020000000000"),
    ("r0 = *(s8 *)(r10 -1)", "91a0ffff00000000"),
    ("*(u32 *)(r10 - 4) = r1", "631afcff00000000"),
    ("*(u8 *)(r10 - 1) = 0", "720affff00000000"),
    ("*(u64 *)(r10 -8) = -1", "7a0af8ffffffffff"),
    ("*(u16 *)(r1 + 2) = w3", "6b31020000000000"),
    ("lock *(u64 *)(r10 - 8) += r1", "db1af8ff00000000"),
    ("lock *(u32 *)(r1 + 0) |= w2", "c321000040000000"),
    ("lock *(u64 *)(r1 +0) &= r2", "db21000050000000"),
    ("lock *(u64 *)(r1 +0) ^= r2", "db210000a0000000"),
    ("r0 = atomic_fetch_add((u64 *)(r10 - 8), r0)", "db0af8ff01000000"),
    ("w1 = atomic_fetch_or((u32 *)(r2 + 4), w1)", "c312040041000000"),
    ("r1 = atomic64_fetch_xor((u64 *)(r2 +4), r1)", "db120400a1000000"),
    ("r0 = xchg_64(r10 - 8, r0)", "db0af8ffe1000000"),
    ("w3 = xchg32_32(r1 + 0, w3)", "c3310000e1000000"),
    ("r0 = cmpxchg_64(r10 - 8, r0, r1)", "db1af8fff1000000"),
    ("r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)", "c3210000f1000000"),
    ("r1 = 0x1122334455667788 ll", "18010000887766550000000044332211"),
    ("r1 = 5 ll", "18010000050000000000000000000000"),
    ("r1 = 0xffffffff", "18010000ffffffff0000000000000000"),
    ("r1 = -1 ll", "18010000ffffffff00000000ffffffff"),
    ("r1 = map[id:3]", "18110000030000000000000000000000"),
    ("r1 = map_fd(3)", "18110000030000000000000000000000"),
    ("r1 = map[id:3][0]+16", "18210000030000000000000010000000"),
    ("r1 = map_value(3) + 16", "18210000030000000000000010000000"),
    ("r1 = map[idx:2]", "18510000020000000000000000000000"),
    ("r1 = map[idx:2]+8", "18610000020000000000000008000000"),
    ("r1 = btf_id(77)", "183100004d0000000000000000000000"),
    ("r2 = subprog[+3]", "18420000030000000000000000000000"),
    ("if r1 > 5 goto +3", "2501030005000000"),
    ("if w1 s< w2 goto -1", "ce21ffff00000000"),
    ("if r1 == 0x0 goto pc+1", "1501010000000000"),
    ("if r1 & r2 goto +0", "4d21000000000000"),
    ("if r1 != 0xffffffff goto +1", "55010100ffffffff"),
    ("if w1 s>= -3 goto +2", "76010200fdffffff"),
    ("if r1 <= r2 goto +1", "bd21010000000000"),
    ("goto +2", "0500020000000000"),
    ("goto pc-1", "0500ffff00000000"),
    ("gotol +5", "0600000005000000"),
    ("call bpf_map_lookup_elem", "8500000001000000"),
    ("call bpf_trace_printk#6", "8500000006000000"),
    ("call pc+3", "8510000003000000"),
    ("call kernel-function#77", "852000004d000000"),
    ("callx r8", "8d08000000000000"),
    ("r0 = *(u8 *)skb[16]", "3000000010000000"),
    ("r0 = *(u32 *)skb[r1 + 4]", "4010000004000000"),
    ("r0 = *(u16 *)skb[r2]", "4820000000000000"),
    # listing prefixes of bpftool and llvm-objdump are skipped
    ("  12: (b7) r0 = 1", "b700000001000000"),
    ("   7:\t15 00 01 00 00 00 00 00\tif r0 == 0x0 goto +0x1 <LBB0_2>", "1500010000000000"),
    ("   3: (18) r1 = 0x5", "18010000050000000000000000000000"),
]


@pytest.mark.parametrize(("line", "expected"), UBPF_LINES)
def test_ubpf_syntax_bytes(line: str, expected: str) -> None:
    assert encode(assemble(line)).hex() == expected


@pytest.mark.parametrize(("line", "expected"), KERNEL_LINES)
def test_kernel_syntax_bytes(line: str, expected: str) -> None:
    assert encode(assemble(line)).hex() == expected


def test_lddw_is_two_slots_and_imm_fields_are_plain_ints() -> None:
    insns = assemble("lddw %r3, 0x8000000000000001\nlock xchg [%r1], %r2")
    assert insns[:2] == [Insn(0x18, 3, 0, 0, 1), Insn(0, 0, 0, 0, -0x80000000)]
    assert type(insns[2].imm) is int and type(insns[0].src) is int


def test_mixed_syntaxes_comments_and_labels() -> None:
    text = """
    # uBPF and kernel lines, freely mixed
    mov %r0, 0            ; comment
    r1 = 10               // comment
    loop:
        add %r0, %r1      # comment
        r1 -= 1
        if r1 != 0 goto loop
        jeq %r0, 55, done
        r0 = 0
    done: exit
    """
    asm = assemble_program(text, "mix.s")
    assert asm.labels == {"loop": 2, "done": 7}
    hexes = [i.encode().hex() for i in asm.insns]
    assert hexes == [
        "b700000000000000", "b70100000a000000", "0f10000000000000", "1701000001000000",
        "5501fdff00000000", "1500010037000000", "b700000000000000", "9500000000000000",
    ]
    assert str(asm.source_map[4]) == "mix.s:8:9"
    assert asm.source_map[4].text == "if r1 != 0 goto loop"


def test_label_targets_for_every_jump_kind() -> None:
    text = """
        ja32 far
        call local f
        lddw %r1, code_addr(f)
        r2 = subprog[f]
        jne %r0, 0, exit
    far:
        exit
    f:  call bpf_ktime_get_ns
        exit
    """
    insns = assemble(text)
    # slots: 0 ja32, 1 call, 2-3 lddw, 4-5 lddw, 6 jne, 7 exit (far), 8 call (f), 9 exit
    assert insns[0].imm == 6 and insns[0].off == 0
    assert (insns[1].src, insns[1].imm) == (1, 6)
    assert (insns[2].src, insns[2].imm) == (4, 5)
    assert (insns[4].src, insns[4].imm) == (4, 3)
    assert insns[6].off == 0  # "exit" names the first exit when no label is called so
    assert insns[8].imm == 5  # bpf_ktime_get_ns


def test_call_to_label_that_is_not_a_helper() -> None:
    insns = assemble("call helper_like\nexit\nhelper_like: exit")
    assert (insns[0].src, insns[0].imm) == (1, 1)


def test_named_maps_become_map_refs() -> None:
    asm = assemble_program(
        "mov r2, 1\n"
        "lddw r1, map_by_fd(counts)\n"
        "r3 = map_value(config) + 8\n"
        "r4 = map[name:events]\n"
        "exit\n"
    )
    refs = [(r.index, r.name, int(r.kind), r.offset) for r in asm.map_refs]
    assert refs == [(1, "counts", 1, 0), (3, "config", 2, 8), (5, "events", 1, 0)]
    assert asm.insns[1] == Insn(0x18, 1, 1, 0, 0)
    assert asm.insns[4] == Insn(0, 0, 0, 0, 8)
    spec = asm.to_spec("p", ProgType.XDP, license="MIT")
    assert (spec.insns, spec.map_refs, spec.license) == (asm.insns, asm.map_refs, "MIT")
    assert spec.source_map[3].line == 3


def test_objdump_symbol_lines_and_noise_are_understood() -> None:
    text = """
prog.o:\tfile format elf64-bpf

Disassembly of section xdp:

0000000000000000 <xdp_prog>:
       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x2
       1:\t05 00 00 00 00 00 00 00\tgoto +0x0 <LBB0_1>
       2:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll
       4:\t95 00 00 00 00 00 00 00\texit
"""
    asm = assemble_program(text)
    assert asm.labels == {"xdp_prog": 0}
    assert encode(asm.insns).hex() == (
        "b700000002000000" "0500000000000000" "18010000000000000000000000000000"
        "9500000000000000"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo %r1, 2", "f.s:1:1: unknown mnemonic 'foo'"),
        ("mov %r0, 1\n  mov %r11, 1", "f.s:2:7: bad register '%r11': registers are r0-r10"),
        ("mov %r1, 0x1ffffffff", "f.s:1:10: immediate 0x1ffffffff does not fit in 32 bits"),
        ("ja nowhere", "f.s:1:4: undefined label 'nowhere'"),
        ("call bpf_nope", "f.s:1:6: 'bpf_nope' is neither a helper name nor a label"),
        ("mov r1", "f.s:1:7: expected ',', found end of line"),
        ("r1 = *(u128 *)(r1 + 0)", "f.s:1:8: expected a type"),
        ("if r1 ~ 3 goto +1", "f.s:1:7: unexpected character '~'"),
        ("ldxdw %r0, [%r1+40000]", "f.s:1:16: offset 40000 out of range"),
        ("movsx3232 %r0, %r1", "f.s:1:1: offset of mov must be one of"),
        ("r0 = w1", "f.s:1:6: use registers of one width"),
        ("x:\nx: exit", "f.s:2:1: label 'x' is defined twice"),
        ("ja +1 extra", "f.s:1:7: unexpected 'extra' after the instruction"),
        ("r0 = -r1", "f.s:1:7: negation works in place"),
        ("lock mul [%r1], %r2", "f.s:1:6: unknown atomic operation 'mul'"),
        ("r1 = 0x10000000000000000 ll", "f.s:1:6: 64-bit immediate"),
    ],
)
def test_errors_name_file_line_and_column(text: str, message: str) -> None:
    with pytest.raises(BadInput) as info:
        assemble(text, "f.s")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_jump_out_of_range_is_reported() -> None:
    text = "ja far\n" + "mov %r0, 0\n" * 32768 + "far: exit\n"
    with pytest.raises(BadInput, match=r"^f\.s:1:4: jump to 'far' is out of range \(32768"):
        assemble(text, "f.s")
    # ja32 reaches it
    assert assemble(text.replace("ja far", "ja32 far"), "f.s")[0].imm == 32768


def test_non_strict_mode_keeps_what_the_rfc_forbids() -> None:
    insns = assemble("mov %r11, 1\nmovsx3232 %r0, %r1\n.insn 0xff, 1, 2, -3, 4", strict=False)
    assert insns == [Insn(0xB7, 11, 0, 0, 1), Insn(0xBC, 0, 1, 32, 0), Insn(0xFF, 1, 2, -3, 4)]


def test_builder_matches_the_assembler() -> None:
    from pybpf.asm import builder as bb

    b = bb.Builder()
    b.mov(bb.R0, 0, imm=True).store(8, bb.FP, -8, 7, imm=True)
    b.load_map(bb.R1, "counts").mov(bb.R2, bb.FP).alu("+=", bb.R2, -8, imm=True)
    b.call("bpf_map_lookup_elem").jmp("==", bb.R0, 0, "out")
    b.emit(bb.atomic_op(8, "add", bb.R0, bb.R6, 0), bb.ldx_memsx(2, bb.R3, bb.R0, 4))
    b.mov(bb.R4, 0x1_0000_0000, imm=True).call_sub("f").goto("out", long=True)
    b.label("out").exit()
    b.label("f").alu("s/=", bb.R1, 3, imm=True, w32=True).exit()
    text = """
        mov %r0, 0
        stdw [%r10-8], 7
        lddw %r1, map_by_fd(counts)
        r2 = r10
        r2 += -8
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        lock *(u64 *)(r0 + 0) += r6
        r3 = *(s16 *)(r0 + 4)
        r4 = 0x100000000 ll
        call f
        gotol out
    out: exit
    f:  w1 s/= 3
        exit
    """
    want = assemble_program(text)
    spec = b.spec("p", ProgType.SOCKET_FILTER)
    assert spec.insns == want.insns
    assert spec.map_refs == want.map_refs
    with pytest.raises(BadInput, match="undefined label 'nowhere'"):
        bb.Builder().goto("nowhere").insns()
