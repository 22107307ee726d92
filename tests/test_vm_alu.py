"""ALU/ALU64 semantics (RFC 9669 section 4); expected values worked out from the RFC."""

from __future__ import annotations

import pytest
from vm_build import alu, alu32, ld64, mov, movr, ret

U64 = 0xFFFFFFFFFFFFFFFF
U32 = 0xFFFFFFFF


def r0(*body):  # type: ignore[no-untyped-def]
    return ret(*body)


def test_mov_imm_sign_extends_in_64_and_zero_extends_in_32() -> None:
    assert r0(mov(0, -1)) == U64
    assert r0(alu32("mov", 0, -1)) == U32
    assert r0(mov(0, -2), alu32("mov", 0, src=0)) == 0xFFFFFFFE


def test_add32_wraps_and_zeroes_upper_half() -> None:
    assert r0(alu32("mov", 0, -1), alu32("add", 0, 1)) == 0
    assert r0(ld64(0, 0x100000005), alu32("add", 0, 0)) == 5
    assert r0(ld64(0, 0xFFFFFFFF00000000), alu32("or", 0, 1)) == 1
    assert r0(ld64(0, 0xFFFFFFFFFFFFFFFF), alu32("and", 0, -1)) == U32
    assert r0(ld64(0, 0xFFFFFFFF0000FFFF), alu32("xor", 0, 0xFF)) == 0xFF00


def test_add_sub_mul_wrap_modulo_2_64() -> None:
    assert r0(mov(0, -1), alu("add", 0, 2)) == 1
    assert r0(mov(0, 0), alu("sub", 0, 1)) == U64
    assert r0(ld64(0, 1 << 63), alu("mul", 0, 2)) == 0
    assert r0(mov(0, 0x10000), alu32("mul", 0, 0x10000)) == 0
    assert r0(mov(0, 3), mov(1, -5), alu("mul", 0, src=1)) == (-15) & U64
    assert r0(mov(0, 5), mov(1, 7), alu32("sub", 0, src=1)) == 0xFFFFFFFE


def test_unsigned_division_and_division_by_zero() -> None:
    assert r0(mov(0, -1), alu("div", 0, 2)) == 0x7FFFFFFFFFFFFFFF
    assert r0(mov(0, 100), mov(1, 0), alu("div", 0, src=1)) == 0
    assert r0(mov(0, 100), alu("div", 0, 0)) == 0
    assert r0(mov(0, 100), mov(1, 0), alu32("div", 0, src=1)) == 0
    # imm is sign-extended: 100 / 0xffff_ffff_ffff_ffff == 0
    assert r0(mov(0, 100), alu("div", 0, -1)) == 0
    # 32-bit divides the low halves only
    assert r0(ld64(0, 0x1_0000_0010), ld64(1, 0x1_0000_0004), alu32("div", 0, src=1)) == 4
    assert r0(mov(0, -1), alu32("div", 0, -1)) == 1


def test_modulo_by_zero_leaves_the_dividend() -> None:
    assert r0(ld64(0, 0x1_0000_0007), mov(1, 0), alu("mod", 0, src=1)) == 0x1_0000_0007
    assert r0(ld64(0, 0x1_0000_0007), alu("mod", 0, 0)) == 0x1_0000_0007
    # 32-bit: the low half, zero-extended
    assert r0(ld64(0, 0x1_0000_0007), mov(1, 0), alu32("mod", 0, src=1)) == 7
    assert r0(ld64(0, 0xFFFF_FFFF_8000_0007), alu32("mod", 0, 0)) == 0x8000_0007
    assert r0(mov(0, 17), alu("mod", 0, 5)) == 2
    assert r0(mov(0, -1), alu32("mod", 0, 10)) == 5  # 4294967295 % 10


def test_signed_division_truncates_toward_zero() -> None:
    assert r0(mov(0, -7), alu("div", 0, 2, off=1)) == (-3) & U64
    assert r0(mov(0, 7), alu("div", 0, -2, off=1)) == (-3) & U64
    assert r0(mov(0, -7), alu("mod", 0, 2, off=1)) == (-1) & U64
    assert r0(mov(0, 7), alu("mod", 0, -2, off=1)) == 1
    assert r0(mov(0, -7), mov(1, 0), alu("div", 0, src=1, off=1)) == 0
    assert r0(mov(0, -7), mov(1, 0), alu("mod", 0, src=1, off=1)) == (-7) & U64
    assert r0(alu32("mov", 0, -7), alu32("div", 0, 2, off=1)) == 0xFFFFFFFD
    assert r0(alu32("mov", 0, -7), alu32("mod", 0, 2, off=1)) == U32
    assert r0(ld64(0, 0x5_FFFF_FFF9), mov(1, 0), alu32("mod", 0, src=1, off=1)) == 0xFFFFFFF9


def test_int_min_divided_by_minus_one_wraps() -> None:
    assert r0(ld64(0, 1 << 63), alu("div", 0, -1, off=1)) == 1 << 63
    assert r0(ld64(0, 1 << 63), alu("mod", 0, -1, off=1)) == 0
    assert r0(alu32("mov", 0, -(1 << 31)), alu32("div", 0, -1, off=1)) == 0x80000000
    assert r0(alu32("mov", 0, -(1 << 31)), alu32("mod", 0, -1, off=1)) == 0


def test_shifts_mask_the_amount() -> None:
    assert r0(mov(0, 1), mov(1, 65), alu("lsh", 0, src=1)) == 2
    assert r0(mov(0, 1), mov(1, 33), alu32("lsh", 0, src=1)) == 2
    assert r0(mov(0, 1), alu("lsh", 0, 63)) == 1 << 63
    assert r0(mov(0, 1), alu32("lsh", 0, 31), alu32("lsh", 0, 1)) == 0
    assert r0(mov(0, -1), alu("rsh", 0, 60)) == 0xF
    assert r0(mov(0, -1), alu32("rsh", 0, 28)) == 0xF
    assert r0(mov(0, -16), alu("arsh", 0, 2)) == (-4) & U64
    assert r0(alu32("mov", 0, -(1 << 31)), alu32("arsh", 0, 4)) == 0xF8000000
    assert r0(mov(0, -16), mov(1, 66), alu("arsh", 0, src=1)) == (-4) & U64
    assert r0(mov(0, 0x70), alu32("arsh", 0, 4)) == 7


def test_neg() -> None:
    assert r0(mov(0, 1), alu("neg", 0)) == U64
    assert r0(mov(0, 1), alu32("neg", 0)) == U32
    assert r0(ld64(0, 1 << 63), alu("neg", 0)) == 1 << 63
    assert r0(mov(0, 0), alu("neg", 0)) == 0


@pytest.mark.parametrize("bits,value,expected", [
    (8, 0x80, 0xFFFFFFFFFFFFFF80), (8, 0x17F, 0x7F),
    (16, 0x8000, 0xFFFFFFFFFFFF8000), (16, 0x1_7FFF, 0x7FFF),
    (32, 0x80000000, 0xFFFFFFFF80000000), (32, 0x1_7FFFFFFF, 0x7FFFFFFF),
])
def test_movsx64(bits: int, value: int, expected: int) -> None:
    assert r0(ld64(1, value), alu("mov", 0, src=1, off=bits)) == expected


@pytest.mark.parametrize("bits,value,expected", [
    (8, 0x80, 0xFFFFFF80), (8, 0x7F, 0x7F), (16, 0x8000, 0xFFFF8000), (16, 0xF_7FFF, 0x7FFF),
])
def test_movsx32(bits: int, value: int, expected: int) -> None:
    assert r0(ld64(1, value), alu32("mov", 0, src=1, off=bits)) == expected


V = 0x1122334455667788


@pytest.mark.parametrize("opcode_cls,to_be,width,expected", [
    (0x04, False, 16, 0x7788), (0x04, False, 32, 0x55667788), (0x04, False, 64, V),
    (0x04, True, 16, 0x8877), (0x04, True, 32, 0x88776655), (0x04, True, 64, 0x8877665544332211),
    (0x07, False, 16, 0x8877), (0x07, False, 32, 0x88776655), (0x07, False, 64, 0x8877665544332211),
])
def test_byte_swaps(opcode_cls: int, to_be: bool, width: int, expected: int) -> None:
    from pybpf.asm.insn import Insn

    ins = Insn(opcode_cls | 0xD0 | (0x08 if to_be else 0), 0, 0, 0, width)
    assert r0(ld64(0, V), ins) == expected


def test_register_operands_and_or_xor_64() -> None:
    assert r0(ld64(0, 0xF0F0_0000_0000_00F0), ld64(1, 0x0F00_0000_0000_000F),
              alu("or", 0, src=1)) == 0xFFF0_0000_0000_00FF
    assert r0(mov(0, -1), mov(1, 0x0F0F), alu("and", 0, src=1)) == 0x0F0F
    assert r0(mov(0, -1), mov(1, 1), alu("xor", 0, src=1)) == U64 - 1
    assert r0(mov(0, 6), movr(1, 0), alu("add", 0, src=1)) == 12
