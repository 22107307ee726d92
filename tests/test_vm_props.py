"""Property tests: the vm's ALU and JMP against a small independent reference model."""

from __future__ import annotations

from fractions import Fraction
from math import trunc

from hypothesis import given, settings
from hypothesis import strategies as st
from vm_build import alu, exit_, jmp, ld64, mov, movr, run

U64 = 2**64 - 1
u64s = st.one_of(st.integers(0, U64), st.sampled_from([0, 1, 2, U64, 1 << 63, (1 << 63) - 1,
                                                        0xFFFFFFFF, 1 << 31, (1 << 32) + 3]))
s32s = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, -1, 1, -(2**31), 63]))


def signed(x: int, w: int) -> int:
    return x - (1 << w) if x >> (w - 1) & 1 else x


def model_alu(op: str, a: int, b: int, w: int, sign: bool) -> int:
    """What RFC 9669 says dst becomes (zero-extended to 64 bits)."""
    m = (1 << w) - 1
    a, b = a & m, b & m
    if op == "add":
        r = a + b
    elif op == "sub":
        r = a - b
    elif op == "mul":
        r = a * b
    elif op == "div" and not sign:
        r = 0 if b == 0 else a // b
    elif op == "div":
        r = 0 if b == 0 else trunc(Fraction(signed(a, w), signed(b, w)))
    elif op == "mod" and not sign:
        r = a if b == 0 else a % b
    elif op == "mod":
        sa, sb = signed(a, w), signed(b, w)
        r = a if sb == 0 else sa - sb * trunc(Fraction(sa, sb))
    elif op == "or":
        r = a | b
    elif op == "and":
        r = a & b
    elif op == "xor":
        r = a ^ b
    elif op == "lsh":
        r = a << (b % w)
    elif op == "rsh":
        r = a >> (b % w)
    elif op == "arsh":
        r = signed(a, w) >> (b % w)
    elif op == "neg":
        r = -a
    elif op == "mov":
        r = b
    else:
        raise AssertionError(op)
    return r & m


BINARY = ["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "mod", "xor", "mov", "arsh"]


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(BINARY + ["sdiv", "smod", "neg"]), a=u64s, b=u64s,
       w32=st.booleans())
def test_alu_register_operand(op: str, a: int, b: int, w32: bool) -> None:
    w = 32 if w32 else 64
    sign = op in ("sdiv", "smod")
    base = op[1:] if sign else op
    ins = alu(base, 1, src=2, off=1 if sign else 0, w64=not w32) if base != "neg" else \
        alu("neg", 1, w64=not w32)
    got = run(ld64(1, a), ld64(2, b), ins, movr(0, 1), exit_())
    assert got == model_alu(base, a, b, w, sign)


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(BINARY + ["sdiv", "smod"]), a=u64s, imm=s32s, w32=st.booleans())
def test_alu_immediate_operand(op: str, a: int, imm: int, w32: bool) -> None:
    w = 32 if w32 else 64
    sign = op in ("sdiv", "smod")
    base = op[1:] if sign else op
    ins = alu(base, 1, imm, off=1 if sign else 0, w64=not w32)
    got = run(ld64(1, a), ins, movr(0, 1), exit_())
    # the immediate is sign-extended to 64 bits, then (for ALU32) truncated
    assert got == model_alu(base, a, imm & U64, w, sign)


def model_jmp(op: str, a: int, b: int, w: int) -> bool:
    m = (1 << w) - 1
    a, b = a & m, b & m
    sa, sb = signed(a, w), signed(b, w)
    return {
        "jeq": a == b, "jne": a != b, "jgt": a > b, "jge": a >= b, "jlt": a < b, "jle": a <= b,
        "jsgt": sa > sb, "jsge": sa >= sb, "jslt": sa < sb, "jsle": sa <= sb,
        "jset": (a & b) != 0,
    }[op]


JMPS = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(JMPS), a=u64s, b=u64s, w32=st.booleans(), use_imm=st.booleans(),
       imm=s32s)
def test_jumps(op: str, a: int, b: int, w32: bool, use_imm: bool, imm: int) -> None:
    w = 32 if w32 else 64
    if use_imm:
        cond = jmp(op, 1, 2, imm=imm, w32=w32)
        b = imm & U64
    else:
        cond = jmp(op, 1, 2, src=2, w32=w32)
    got = run(ld64(1, a), ld64(2, b), cond, mov(0, 0), exit_(), mov(0, 1), exit_())
    assert got == int(model_jmp(op, a, b, w))


@settings(max_examples=100, deadline=None)
@given(v=st.integers(0, U64), size=st.sampled_from([1, 2, 4, 8]), off=st.integers(1, 63))
def test_store_load_roundtrip(v: int, size: int, off: int) -> None:
    from vm_build import ldx, stx

    got = run(ld64(1, v), stx(size, 10, 1, -8 * off), ldx(size, 0, 10, -8 * off), exit_())
    assert got == v & ((1 << (8 * size)) - 1)
