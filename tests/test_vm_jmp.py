"""Jump semantics: every condition, signed and unsigned, JMP and JMP32, ja and gotol."""

from __future__ import annotations

import pytest
from vm_build import alu, exit_, gotol, ja, jmp, ld64, mov, movr, ret, run

U64 = 0xFFFFFFFFFFFFFFFF


def taken(op: str, a: int, b: int, w32: bool = False, reg: bool = True) -> bool:
    """Run `if a OP b goto +1; r0 = 0; exit; r0 = 1; exit`."""
    cond = jmp(op, 1, 2, src=2, w32=w32) if reg else jmp(op, 1, 2, imm=b, w32=w32)
    r0 = run(ld64(1, a & U64), ld64(2, b & U64), mov(0, 7), cond, mov(0, 0), exit_(),
             mov(0, 1), exit_())
    assert r0 in (0, 1)
    return r0 == 1


CASES = [
    # op, a, b, expected (64-bit)
    ("jeq", 5, 5, True), ("jeq", 5, 6, False),
    ("jne", 5, 6, True), ("jne", 5, 5, False),
    ("jgt", -1, 1, True), ("jgt", 1, 1, False),
    ("jge", 1, 1, True), ("jge", 0, 1, False),
    ("jlt", 1, -1, True), ("jlt", -1, 1, False),
    ("jle", 1, 1, True), ("jle", 2, 1, False),
    ("jsgt", -1, 1, False), ("jsgt", 1, -1, True),
    ("jsge", -1, -1, True), ("jsge", -2, -1, False),
    ("jslt", -1, 1, True), ("jslt", 1, -1, False),
    ("jsle", -1, -1, True), ("jsle", 0, -1, False),
    ("jset", 0b1010, 0b0010, True), ("jset", 0b1010, 0b0101, False),
]


@pytest.mark.parametrize("op,a,b,expected", CASES)
def test_jmp64_register(op: str, a: int, b: int, expected: bool) -> None:
    assert taken(op, a, b) is expected


@pytest.mark.parametrize("op,a,b,expected", CASES)
def test_jmp64_immediate_is_sign_extended(op: str, a: int, b: int, expected: bool) -> None:
    assert taken(op, a, b, reg=False) is expected


def test_jmp32_compares_low_halves_only() -> None:
    # 0x1_0000_0000 == 0 in 32 bits, not in 64
    assert taken("jeq", 1 << 32, 0, w32=True)
    assert not taken("jeq", 1 << 32, 0)
    # low half 0xffffffff is -1 signed in 32 bits but positive in 64
    assert taken("jslt", 0xFFFFFFFF, 0, w32=True)
    assert not taken("jslt", 0xFFFFFFFF, 0)
    assert taken("jgt", 0x2_0000_0001, 0x1_FFFF_FFFF, w32=False)
    assert not taken("jgt", 0x2_0000_0001, 0x1_FFFF_FFFF, w32=True)
    assert taken("jsgt", 0x8000_0000_0000_0001, 0, w32=True)
    assert not taken("jsgt", 0x8000_0000_0000_0001, 0)
    assert taken("jset", 0x1_0000_0001, 1, w32=True)
    assert not taken("jset", 0x1_0000_0000, 0x1_0000_0000, w32=True)
    assert taken("jeq", 0xFFFFFFFF, -1, w32=True, reg=False)
    assert taken("jsle", 0x1_8000_0000, -(1 << 31), w32=True, reg=False)


def test_ja_and_gotol() -> None:
    assert ret(mov(0, 1), ja(1), mov(0, 2)) == 1
    assert ret(mov(0, 1), gotol(1), mov(0, 2)) == 1
    body = [mov(0, 0), mov(1, 3),
            jmp("jeq", 1, 3, imm=0),   # 2 -> 6
            alu("add", 0, 2),          # 3
            alu("sub", 1, 1),          # 4
            gotol(-4),                 # 5 -> 2
            exit_()]                   # 6
    assert run(*body) == 6


def test_nested_loops_and_diamonds() -> None:
    # for i in 0..3: for j in 0..3: if (i + j) & 1: r0 += i * j
    body = [mov(0, 0), mov(1, 0),                    # 0, 1: r0 = 0, i = 0
            mov(2, 0),                               # 2: j = 0
            movr(3, 1), alu("add", 3, src=2),        # 3, 4: r3 = i + j
            jmp("jset", 3, 1, imm=1),                # 5: odd -> 7
            ja(3),                                   # 6 -> 10
            movr(4, 1), alu("mul", 4, src=2),        # 7, 8
            alu("add", 0, src=4),                    # 9
            alu("add", 2, 1),                        # 10
            jmp("jlt", 2, -9, imm=4),                # 11 -> 3
            alu("add", 1, 1),                        # 12
            jmp("jlt", 1, -12, imm=4),               # 13 -> 2
            exit_()]
    # odd i+j pairs: (0,1)(0,3)(1,0)(1,2)(2,1)(2,3)(3,0)(3,2) -> 0+0+0+2+2+6+0+6
    assert run(*body) == 16


def test_unconditional_self_loop_is_stopped_by_the_budget() -> None:
    from pybpf.vm import VmError

    with pytest.raises(VmError, match=r"^insn 1: instruction budget of 100 exhausted"):
        run(mov(0, 0), ja(-1), exit_(), budget=100)
