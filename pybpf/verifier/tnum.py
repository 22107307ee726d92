"""Tracked numbers: which bits of a 64-bit value are known (the kernel's tnum).

A tnum is ``(value, mask)``: bits set in ``mask`` are unknown, the others equal
``value``. Plain tuples keep copying states cheap; every result is masked to 64 bits.
"""

from __future__ import annotations

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1

Tnum = tuple[int, int]

UNKNOWN: Tnum = (0, M64)


def const(v: int) -> Tnum:
    return (v & M64, 0)


def trange(lo: int, hi: int) -> Tnum:
    """The smallest tnum holding every value of the unsigned range [lo, hi]."""
    chi = lo ^ hi
    bits = chi.bit_length()
    if bits > 63:
        return UNKNOWN
    delta = (1 << bits) - 1
    return (lo & ~delta & M64, delta)


def add(a: Tnum, b: Tnum) -> Tnum:
    sm = a[1] + b[1]
    sv = a[0] + b[0]
    chi = ((sm + sv) ^ sv) & M64
    mu = chi | a[1] | b[1]
    return (sv & ~mu & M64, mu)


def sub(a: Tnum, b: Tnum) -> Tnum:
    dv = (a[0] - b[0]) & M64
    alpha = (dv + a[1]) & M64
    beta = (dv - b[1]) & M64
    mu = (alpha ^ beta) | a[1] | b[1]
    return (dv & ~mu & M64, mu)


def and_(a: Tnum, b: Tnum) -> Tnum:
    alpha = a[0] | a[1]
    beta = b[0] | b[1]
    v = a[0] & b[0]
    return (v, alpha & beta & ~v & M64)


def or_(a: Tnum, b: Tnum) -> Tnum:
    v = a[0] | b[0]
    mu = a[1] | b[1]
    return (v, mu & ~v & M64)


def xor(a: Tnum, b: Tnum) -> Tnum:
    v = a[0] ^ b[0]
    mu = a[1] | b[1]
    return (v & ~mu & M64, mu)


def lshift(a: Tnum, s: int) -> Tnum:
    return ((a[0] << s) & M64, (a[1] << s) & M64)


def rshift(a: Tnum, s: int) -> Tnum:
    return (a[0] >> s, a[1] >> s)


def arshift(a: Tnum, s: int, bits: int = 64) -> Tnum:
    m = (1 << bits) - 1
    return ((to_signed(a[0], bits) >> s) & m, (to_signed(a[1], bits) >> s) & m)


def mul(a: Tnum, b: Tnum) -> Tnum:
    acc_v = (a[0] * b[0]) & M64
    acc_m: Tnum = (0, 0)
    while a[0] or a[1]:
        if a[0] & 1:
            acc_m = add(acc_m, (0, b[1]))
        elif a[1] & 1:
            acc_m = add(acc_m, (0, b[0] | b[1]))
        a = rshift(a, 1)
        b = lshift(b, 1)
    return add((acc_v, 0), acc_m)


def intersect(a: Tnum, b: Tnum) -> Tnum:
    v = a[0] | b[0]
    mu = a[1] & b[1]
    return (v & ~mu & M64, mu)


def contains(a: Tnum, b: Tnum) -> bool:
    """True when every value ``b`` may hold is one ``a`` may hold."""
    if b[1] & ~a[1]:
        return False
    return a[0] == (b[0] & ~a[1])


def cast32(a: Tnum) -> Tnum:
    return (a[0] & M32, a[1] & M32)


def to_signed(v: int, bits: int = 64) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def fmt(a: Tnum) -> str:
    return f"(0x{a[0]:x}; 0x{a[1]:x})"
