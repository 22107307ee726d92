"""Conditional jumps on scalars: is the outcome known, and what each side learns.

Both sides are normalised to ``a OP b`` with OP one of the comparisons below;
the fall-through side uses the negated comparison. 32-bit jumps are refined only
when both values fit in 32 bits (then they mean the same as the 64-bit jump).
"""

from __future__ import annotations

from . import tnum as tn
from .ops import Jmp
from .scalar import cast32
from .state import Reg, empty, sync
from .tnum import M32

# comparison -> its negation
NEGATE: dict[int, int] = {
    Jmp.JEQ: Jmp.JNE, Jmp.JNE: Jmp.JEQ, Jmp.JGT: Jmp.JLE, Jmp.JLE: Jmp.JGT,
    Jmp.JGE: Jmp.JLT, Jmp.JLT: Jmp.JGE, Jmp.JSGT: Jmp.JSLE, Jmp.JSLE: Jmp.JSGT,
    Jmp.JSGE: Jmp.JSLT, Jmp.JSLT: Jmp.JSGE,
}
# comparison with its operands swapped
SWAP: dict[int, int] = {
    Jmp.JEQ: Jmp.JEQ, Jmp.JNE: Jmp.JNE, Jmp.JGT: Jmp.JLT, Jmp.JLT: Jmp.JGT,
    Jmp.JGE: Jmp.JLE, Jmp.JLE: Jmp.JGE, Jmp.JSGT: Jmp.JSLT, Jmp.JSLT: Jmp.JSGT,
    Jmp.JSGE: Jmp.JSLE, Jmp.JSLE: Jmp.JSGE, Jmp.JSET: Jmp.JSET,
}
_SIGNED = {Jmp.JSGT, Jmp.JSGE, Jmp.JSLT, Jmp.JSLE}


def _views(op: int, a: Reg, b: Reg, is32: bool) -> tuple[Reg, Reg, bool] | None:
    """Operands as 64-bit-equivalent values; the flag says refining them is exact."""
    if not is32:
        return a, b, True
    lim = 0x7FFFFFFF if op in _SIGNED else M32
    if a.umax <= lim and b.umax <= lim:
        return a, b, True
    if op in _SIGNED:
        return _s32(cast32(a)), _s32(cast32(b)), False
    return cast32(a), cast32(b), False


def _s32(r: Reg) -> Reg:
    """A view of a zero-extended 32-bit value whose signed bounds are its s32 bounds."""
    lo, hi = r.umin, r.umax
    if hi <= 0x7FFFFFFF:
        smin, smax = lo, hi
    elif lo >= 0x80000000:
        smin, smax = lo - (1 << 32), hi - (1 << 32)
    else:
        smin, smax = -(1 << 31), (1 << 31) - 1
    return Reg(r.t, 0, r.tn, smin, smax, lo, hi)


def taken(op: int, a: Reg, b: Reg, is32: bool = False) -> bool | None:
    """True/False when ``a OP b`` is decided by what is known, else None."""
    v = _views(op, a, b, is32)
    if v is None:
        return None
    a, b, _ = v
    return _taken(op, a, b)


def _taken(op: int, a: Reg, b: Reg) -> bool | None:
    if op == Jmp.JSET:
        if a.tn[0] & b.tn[0]:
            return True
        if not ((a.tn[0] | a.tn[1]) & (b.tn[0] | b.tn[1])):
            return False
        return None
    if op in (Jmp.JEQ, Jmp.JNE):
        eq: bool | None = None
        if a.is_const and b.is_const:
            eq = a.const == b.const
        elif ((a.tn[0] ^ b.tn[0]) & ~(a.tn[1] | b.tn[1])) or a.umin > b.umax \
                or a.umax < b.umin or a.smin > b.smax or a.smax < b.smin:
            eq = False
        if eq is None:
            return None
        return eq if op == Jmp.JEQ else not eq
    if op == Jmp.JGT:
        return True if a.umin > b.umax else False if a.umax <= b.umin else None
    if op == Jmp.JGE:
        return True if a.umin >= b.umax else False if a.umax < b.umin else None
    if op == Jmp.JLT:
        return True if a.umax < b.umin else False if a.umin >= b.umax else None
    if op == Jmp.JLE:
        return True if a.umax <= b.umin else False if a.umin > b.umax else None
    if op == Jmp.JSGT:
        return True if a.smin > b.smax else False if a.smax <= b.smin else None
    if op == Jmp.JSGE:
        return True if a.smin >= b.smax else False if a.smax < b.smin else None
    if op == Jmp.JSLT:
        return True if a.smax < b.smin else False if a.smin >= b.smax else None
    if op == Jmp.JSLE:
        return True if a.smax <= b.smin else False if a.smin > b.smax else None
    return None


def refine(op: int, a: Reg, b: Reg, is32: bool = False) -> tuple[Reg, Reg] | None:
    """New (a, b) assuming ``a OP b`` holds, or None when it cannot."""
    v = _views(op, a, b, is32)
    if v is None or not v[2]:
        return a, b
    a, b = a.copy(), b.copy()
    if op == Jmp.JEQ:
        t = tn.intersect(a.tn, b.tn)
        for r in (a, b):
            r.tn = t
            r.smin, r.smax = max(a.smin, b.smin), min(a.smax, b.smax)
            r.umin, r.umax = max(a.umin, b.umin), min(a.umax, b.umax)
    elif op == Jmp.JNE:
        for x, y in ((a, b), (b, a)):
            if y.is_const:
                c = y.const
                if x.umin == c:
                    x.umin += 1
                if x.umax == c:
                    x.umax -= 1
                sc = tn.to_signed(c)
                if x.smin == sc:
                    x.smin += 1
                if x.smax == sc:
                    x.smax -= 1
    elif op == Jmp.JSET:
        if b.is_const and b.const and b.const & (b.const - 1) == 0:
            a.tn = (a.tn[0] | b.const, a.tn[1] & ~b.const)
    elif op == Jmp.JGT:
        a.umin = max(a.umin, b.umin + 1)
        b.umax = min(b.umax, a.umax - 1)
    elif op == Jmp.JGE:
        a.umin = max(a.umin, b.umin)
        b.umax = min(b.umax, a.umax)
    elif op == Jmp.JLT:
        a.umax = min(a.umax, b.umax - 1)
        b.umin = max(b.umin, a.umin + 1)
    elif op == Jmp.JLE:
        a.umax = min(a.umax, b.umax)
        b.umin = max(b.umin, a.umin)
    elif op == Jmp.JSGT:
        a.smin = max(a.smin, b.smin + 1)
        b.smax = min(b.smax, a.smax - 1)
    elif op == Jmp.JSGE:
        a.smin = max(a.smin, b.smin)
        b.smax = min(b.smax, a.smax)
    elif op == Jmp.JSLT:
        a.smax = min(a.smax, b.smax - 1)
        b.smin = max(b.smin, a.smin + 1)
    elif op == Jmp.JSLE:
        a.smax = min(a.smax, b.smax)
        b.smin = max(b.smin, a.smin)
    if empty(a) or empty(b):
        return None
    sync(a)
    sync(b)
    if empty(a) or empty(b):
        return None
    return a, b


def refine_not_set(a: Reg, b: Reg, is32: bool = False) -> Reg:
    """``a & b == 0``: the bits known set in ``b`` are zero in ``a``."""
    if not b.is_const:
        return a
    c = b.const & (M32 if is32 else (1 << 64) - 1)
    r = a.copy(tn=(a.tn[0] & ~c, a.tn[1] & ~c))
    return sync(r)
