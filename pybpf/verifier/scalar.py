"""Arithmetic on abstract scalars: bounds and known bits after each ALU operation.

Constants are computed exactly (``eval_alu``, the instruction's run-time
semantics); otherwise the kernel's bound rules apply, and anything the rules do
not cover becomes an unknown scalar (sound, just less precise). 32-bit
operations work on the zero-extended low halves and truncate the result.
"""

from __future__ import annotations

from . import tnum as tn
from .ops import Alu
from .state import S64_MAX, S64_MIN, Reg, const, scalar, unknown
from .tnum import M32, M64

_S = tn.to_signed


def eval_alu(op: int, is64: bool, a: int, b: int, off: int = 0) -> int:
    """The unsigned 64-bit result of ``a op b`` as the CPU computes it."""
    bits = 64 if is64 else 32
    m = M64 if is64 else M32
    a &= m
    b &= m
    if op == Alu.ADD:
        r = a + b
    elif op == Alu.SUB:
        r = a - b
    elif op == Alu.MUL:
        r = a * b
    elif op == Alu.DIV:
        if off:
            sa, sb = _S(a, bits), _S(b, bits)
            r = 0 if sb == 0 else abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
        else:
            r = 0 if b == 0 else a // b
    elif op == Alu.MOD:
        if off:
            sa, sb = _S(a, bits), _S(b, bits)
            r = sa if sb == 0 else abs(sa) % abs(sb) * (-1 if sa < 0 else 1)
        else:
            r = a if b == 0 else a % b
    elif op == Alu.OR:
        r = a | b
    elif op == Alu.AND:
        r = a & b
    elif op == Alu.XOR:
        r = a ^ b
    elif op == Alu.LSH:
        r = a << (b & (bits - 1))
    elif op == Alu.RSH:
        r = a >> (b & (bits - 1))
    elif op == Alu.ARSH:
        r = _S(a, bits) >> (b & (bits - 1))
    elif op == Alu.NEG:
        r = -a
    elif op == Alu.MOV:
        if off:
            r = _S(b, off)
        else:
            r = b
    else:
        raise ValueError(f"no constant rule for alu op 0x{op:x}")
    return r & m


def bswap(v: int, width: int, to_be: bool) -> int:
    v &= (1 << width) - 1
    if to_be:
        return int.from_bytes(v.to_bytes(width // 8, "little"), "big")
    return v


def cast32(r: Reg) -> Reg:
    """The zero-extended low 32 bits of a scalar."""
    if r.umin >= 0 and r.umax <= M32:
        return r
    if (r.umax >> 32) == (r.umin >> 32):
        lo, hi = r.umin & M32, r.umax & M32
        return scalar(tn.cast32(r.tn), lo, hi, lo, hi)
    return scalar(tn.cast32(r.tn), 0, M32, 0, M32)


def _fits(v: int) -> bool:
    return S64_MIN <= v <= S64_MAX


def alu(op: int, is64: bool, a: Reg, b: Reg, off: int = 0, src: int = -1) -> Reg:
    """Abstract ``a op b`` for scalars ``a`` and ``b``."""
    if op in (Alu.DIV, Alu.MOD):
        # Like the kernel: no range tracking through division, even of constants, and
        # (as it returns before zero-extending) not even a 32-bit bound for div32/mod32.
        return unknown(src)
    if op in (Alu.LSH, Alu.RSH, Alu.ARSH) and not (cast32(b) if not is64 else b).is_const:
        return unknown(src)  # the kernel tracks shifts by a constant only
    if a.is_const and b.is_const:
        return const(eval_alu(op, is64, a.const, b.const, off), src)
    if not is64:
        a32, b32 = cast32(a), cast32(b)
        if op == Alu.ARSH:
            if a32.umax <= 0x7FFFFFFF:
                op = Alu.RSH
            else:
                return scalar(tn.arshift(a32.tn, b32.const, 32) if b32.is_const else tn.UNKNOWN,
                              0, M32, 0, M32, src=src)
        if off and op in (Alu.DIV, Alu.MOD):
            return scalar(tn.UNKNOWN, 0, M32, 0, M32, src=src)
        r = _alu64(op, a32, b32, 0, src)
        return cast32(r)
    return _alu64(op, a, b, off, src)


def _alu64(op: int, a: Reg, b: Reg, off: int, src: int) -> Reg:
    if op == Alu.ADD:
        smin, smax = a.smin + b.smin, a.smax + b.smax
        if not (_fits(smin) and _fits(smax)):
            smin, smax = S64_MIN, S64_MAX
        umin, umax = a.umin + b.umin, a.umax + b.umax
        if umax > M64:
            umin, umax = 0, M64
        return scalar(tn.add(a.tn, b.tn), smin, smax, umin, umax, src)
    if op == Alu.SUB:
        smin, smax = a.smin - b.smax, a.smax - b.smin
        if not (_fits(smin) and _fits(smax)):
            smin, smax = S64_MIN, S64_MAX
        if a.umin < b.umax:
            umin, umax = 0, M64
        else:
            umin, umax = a.umin - b.umax, a.umax - b.umin
        return scalar(tn.sub(a.tn, b.tn), smin, smax, umin, umax, src)
    if op == Alu.MUL:
        t = tn.mul(a.tn, b.tn)
        if a.smin < 0 or b.smin < 0 or a.umax > M32 or b.umax > M32:
            return scalar(t, src=src)
        umin, umax = a.umin * b.umin, a.umax * b.umax
        return scalar(t, umin, umax, umin, umax, src)
    if op in (Alu.AND, Alu.OR, Alu.XOR):
        if op == Alu.AND:
            t = tn.and_(a.tn, b.tn)
            umin, umax = t[0], min(a.umax, b.umax)
        elif op == Alu.OR:
            t = tn.or_(a.tn, b.tn)
            umin, umax = max(a.umin, b.umin), t[0] | t[1]
        else:
            t = tn.xor(a.tn, b.tn)
            umin, umax = t[0], t[0] | t[1]
        if a.smin < 0 or b.smin < 0 or umax > S64_MAX:
            return scalar(t, S64_MIN, S64_MAX, umin, umax, src)
        return scalar(t, umin, umax, umin, umax, src)
    if op in (Alu.LSH, Alu.RSH, Alu.ARSH):
        if not b.is_const:
            if op == Alu.RSH and b.umax < 64:
                return scalar(tn.UNKNOWN, 0, S64_MAX, a.umin >> b.umax, a.umax >> b.umin, src)
            return unknown(src)
        s = b.const & 63
        if op == Alu.LSH:
            t = tn.lshift(a.tn, s)
            if s and a.umax >> (64 - s):
                return scalar(t, src=src)
            return scalar(t, S64_MIN, S64_MAX, a.umin << s, a.umax << s, src)
        if op == Alu.RSH:
            t = tn.rshift(a.tn, s)
            return scalar(t, S64_MIN, S64_MAX, a.umin >> s, a.umax >> s, src)
        t = tn.arshift(a.tn, s)
        return scalar(t, a.smin >> s, a.smax >> s, 0, M64, src)
    if op in (Alu.DIV, Alu.MOD):
        if off:
            return unknown(src)
        if b.is_const:
            c = b.const
            if op == Alu.DIV:
                if c == 0:
                    return const(0, src)
                return scalar(tn.UNKNOWN, S64_MIN, S64_MAX, a.umin // c, a.umax // c, src)
            if c == 0 or a.umax < c:
                return a.copy(src=src)
            return scalar(tn.UNKNOWN, S64_MIN, S64_MAX, 0, c - 1, src)
        return scalar(tn.UNKNOWN, S64_MIN, S64_MAX, 0, a.umax, src)
    return unknown(src)
