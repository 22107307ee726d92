"""The abstract domain is sound: every concrete result lies in the abstract result.

Known bits (tnum), scalar bounds after ALU operations and what each side of a
conditional jump learns are checked against the instructions' run-time
semantics on random values drawn from random abstract values.
"""

from __future__ import annotations

import random

import pytest

from pybpf.asm.opcodes import Alu, Jmp
from pybpf.verifier import branch, scalar
from pybpf.verifier import tnum as tn
from pybpf.verifier.state import Reg, const, ranged, sync
from pybpf.verifier.tnum import M32, M64

SEEDS = range(400)


def _rand_tnum(r: random.Random) -> tuple[tn.Tnum, int]:
    """A tnum and one concrete member of it."""
    mask = r.choice((0, M64, r.getrandbits(64), r.getrandbits(8), (1 << r.randint(0, 64)) - 1))
    value = r.getrandbits(64) & ~mask
    member = value | (r.getrandbits(64) & mask)
    return (value, mask), member


def _member(t: tn.Tnum, v: int) -> bool:
    return (v & ~t[1] & M64) == t[0]


@pytest.mark.parametrize("seed", range(60))
def test_tnum_ops_contain_concrete_results(seed: int) -> None:
    r = random.Random(seed)
    for _ in range(20):
        (ta, a), (tb, b) = _rand_tnum(r), _rand_tnum(r)
        s = r.randint(0, 63)
        assert _member(tn.add(ta, tb), (a + b) & M64)
        assert _member(tn.sub(ta, tb), (a - b) & M64)
        assert _member(tn.and_(ta, tb), a & b)
        assert _member(tn.or_(ta, tb), a | b)
        assert _member(tn.xor(ta, tb), a ^ b)
        assert _member(tn.mul(ta, tb), (a * b) & M64)
        assert _member(tn.lshift(ta, s), (a << s) & M64)
        assert _member(tn.rshift(ta, s), a >> s)
        assert _member(tn.arshift(ta, s), (tn.to_signed(a) >> s) & M64)
        assert _member(tn.cast32(ta), a & M32)
        lo, hi = sorted((a, b))
        assert _member(tn.trange(lo, hi), lo) and _member(tn.trange(lo, hi), hi)
        assert tn.contains(tn.UNKNOWN, ta) and tn.contains(ta, ta)


def _rand_scalar(r: random.Random) -> tuple[Reg, int]:
    kind = r.random()
    if kind < 0.25:
        v = r.choice((0, 1, r.getrandbits(64), r.randint(0, 300), (-r.randint(1, 300)) & M64))
        return const(v), v
    if kind < 0.6:
        lo = r.randint(0, 1000)
        hi = lo + r.randint(0, 5000)
        return ranged(lo, hi), r.randint(lo, hi)
    if kind < 0.8:
        lo = -r.randint(0, 1000)
        hi = lo + r.randint(0, 3000)
        reg = sync(Reg(scalar.unknown().t, 0, tn.UNKNOWN, lo, hi, 0, M64))
        return reg, r.randint(lo, hi) & M64
    t, v = _rand_tnum(r)
    return sync(Reg(scalar.unknown().t, 0, t, -(1 << 63), (1 << 63) - 1, 0, M64)), v


def _contains(reg: Reg, v: int) -> bool:
    v &= M64
    s = tn.to_signed(v)
    return (reg.umin <= v <= reg.umax and reg.smin <= s <= reg.smax and _member(reg.tn, v))


OPS = [Alu.ADD, Alu.SUB, Alu.MUL, Alu.DIV, Alu.MOD, Alu.OR, Alu.AND, Alu.XOR, Alu.LSH,
       Alu.RSH, Alu.ARSH]


@pytest.mark.parametrize("seed", SEEDS)
def test_scalar_alu_contains_concrete_results(seed: int) -> None:
    r = random.Random(seed)
    (a, x), (b, y) = _rand_scalar(r), _rand_scalar(r)
    assert _contains(a, x) and _contains(b, y)
    for op in OPS:
        for is64 in (True, False):
            bb, yy = b, y
            if op in (Alu.LSH, Alu.RSH, Alu.ARSH):
                s = r.randint(0, 63 if is64 else 31)
                bb, yy = const(s), s
            res = scalar.alu(op, is64, a, bb)
            want = scalar.eval_alu(op, is64, x, yy)
            assert _contains(res, want), (op, is64, a, x, bb, yy, res, want)


JUMPS = [Jmp.JEQ, Jmp.JNE, Jmp.JGT, Jmp.JGE, Jmp.JLT, Jmp.JLE, Jmp.JSGT, Jmp.JSGE,
         Jmp.JSLT, Jmp.JSLE, Jmp.JSET]


def _holds(op: int, x: int, y: int, is32: bool) -> bool:
    if is32:
        x, y = x & M32, y & M32
    bits = 32 if is32 else 64
    sx, sy = tn.to_signed(x, bits), tn.to_signed(y, bits)
    table: dict[int, bool] = {
        Jmp.JEQ: x == y, Jmp.JNE: x != y, Jmp.JGT: x > y, Jmp.JGE: x >= y, Jmp.JLT: x < y,
        Jmp.JLE: x <= y, Jmp.JSGT: sx > sy, Jmp.JSGE: sx >= sy, Jmp.JSLT: sx < sy,
        Jmp.JSLE: sx <= sy, Jmp.JSET: bool(x & y)}
    return table[op]


@pytest.mark.parametrize("seed", SEEDS)
def test_branches_keep_every_concrete_value(seed: int) -> None:
    r = random.Random(seed)
    (a, x), (b, y) = _rand_scalar(r), _rand_scalar(r)
    for op in JUMPS:
        for is32 in (False, True):
            truth = _holds(op, x, y, is32)
            dec = branch.taken(op, a, b, is32)
            assert dec is None or dec == truth, (op, is32, a, x, b, y)
            if truth:
                side = branch.refine(op, a, b, is32)
            elif op == Jmp.JSET:
                side = (branch.refine_not_set(a, b, is32), b)
            else:
                side = branch.refine(branch.NEGATE[op], a, b, is32)
            assert side is not None, (op, is32, truth, a, x, b, y)
            assert _contains(side[0], x) and _contains(side[1], y), (op, is32, a, x, b, y, side)


def test_refine_learns_bounds() -> None:
    a = ranged(0, 100)
    yes = branch.refine(Jmp.JGT, a, const(10))
    no = branch.refine(Jmp.JLE, a, const(10))
    assert yes is not None and (yes[0].umin, yes[0].umax) == (11, 100)
    assert no is not None and (no[0].umin, no[0].umax) == (0, 10)
    assert branch.taken(Jmp.JGT, a, const(100)) is False
    assert branch.taken(Jmp.JLT, a, const(101)) is True
    assert branch.refine(Jmp.JGT, a, const(100)) is None


def test_scalar_bounds_are_tight_for_masks() -> None:
    r = scalar.alu(Alu.AND, True, scalar.unknown(), const(0xFF))
    assert (r.umin, r.umax, r.smin, r.smax) == (0, 255, 0, 255)
    r = scalar.alu(Alu.ADD, True, ranged(0, 255), const(8))
    assert (r.umin, r.umax) == (8, 263)
    r = scalar.alu(Alu.RSH, True, ranged(0, 1 << 20), const(4))
    assert r.umax == 1 << 16
    assert scalar.cast32(const(0x1_0000_0005)).const == 5
