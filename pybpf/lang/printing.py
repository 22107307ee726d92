"""Fast printf records: each format compiled once into one ``struct`` unpack and one
Python ``%`` format, so a printf storm is not parsed again per event.

``output.format_printf`` stays the definition of the text: ``compile_printf``
only accepts formats whose conversions it maps exactly (integers and strings with
d/i/u/x/X/o/c/s), checks itself against ``format_printf`` on sample records when
built, and returns None otherwise (the caller then takes the general path).
"""

from __future__ import annotations

import re
import struct

from . import output as O
from . import types as T

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

U64 = (1 << 64) - 1
HEADER = 16  # [u64 event id][u64 format id]
_CONV = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\d+)?(?:\.(?P<prec>\d+))?"
                   r"(?P<len>hh|h|ll|l|z|j|t)?(?P<conv>[diouxXcspSrfegEG%])")


def _s64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _cstr(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode(errors="replace")


def _chr(v: int) -> str:
    return chr(v & 0xFF)


def _u64(v: int) -> int:
    return v & U64


def _low_u32(v: int) -> int:
    return v & 0xFFFFFFFF


def _low_s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


if TYPE_CHECKING:
    Printer = Callable[[bytes], str]


def compile_printf(fmt: str, args: list[Any], compat: str | None = None) -> Printer | None:
    """A function record → text equal to ``format_printf``'s, or None if not covered."""
    pieces: list[str] = []
    codes: list[str] = []
    convs: list[Callable[[Any], Any] | None] = []
    pos = 0
    i = 0
    for m in _CONV.finditer(fmt):
        pieces.append(fmt[pos:m.start()].replace("%", "%%"))
        pos = m.end()
        conv = m.group("conv")
        if conv == "%":
            pieces.append("%%%%" if compat == "0.17" else "%%")
            continue
        if i >= len(args):
            return None
        t = args[i]
        i += 1
        spec = "%" + m.group("flags") + (m.group("width") or "")
        if m.group("prec") is not None:
            spec += "." + m.group("prec")
        if t.kind == "string":
            if conv not in "sS":
                return None
            codes.append(f"{T.storage_size(t)}s")
            convs.append(_cstr)
            pieces.append(spec + "s")
        elif t.kind == "int" and T.storage_size(t) == 8:
            codes.append("q" if t.signed else "Q")
            if compat == "0.17" and m.group("len") is None and conv in "diuxXo":
                convs.append(_low_s32 if conv in "di" else _low_u32)  # 0.17's C printf
                pieces.append(spec + ("d" if conv in "diu" else conv))
            elif conv in "di":
                convs.append(None if t.signed else _s64)
                pieces.append(spec + "d")
            elif conv in "uxXo":
                convs.append(_u64 if t.signed else None)
                pieces.append(spec + ("d" if conv == "u" else conv))
            elif conv == "c":
                convs.append(_chr)
                pieces.append(spec + "c")
            else:
                return None
        else:
            return None
    if i != len(args):
        return None
    pieces.append(fmt[pos:].replace("%", "%%"))
    pyfmt = "".join(pieces)
    st = struct.Struct("<" + f"{HEADER}x" + "".join(codes))
    unpack = st.unpack_from
    plan = list(enumerate(convs))
    if all(c is None for c in convs):
        def fast(rec: bytes) -> str:
            return pyfmt % unpack(rec)
        fn: Printer = fast
    else:
        def conv_all(rec: bytes) -> str:
            vals = list(unpack(rec))
            for j, c in plan:
                if c is not None:
                    vals[j] = c(vals[j])
            return pyfmt % tuple(vals)
        fn = conv_all
    return fn if _agrees(fn, fmt, args, compat, st.size) else None


def _agrees(fn: Printer, fmt: str, args: list[Any], compat: str | None, size: int) -> bool:
    """Check the compiled printer against the reference on a few sample records."""
    from .runtime import Decoder

    dec = Decoder(None)  # type: ignore[arg-type]
    for fill in (b"\0", b"\xff", b"A"):
        rec = bytearray(fill * size)
        rec[:HEADER] = bytes(HEADER)
        off = HEADER
        vals = []
        for t in args:
            vals.append(dec.value(t, bytes(rec), off))
            off += T.storage_size(t)
        try:
            if fn(bytes(rec)) != O.format_printf(fmt, vals, compat):
                return False
        except (TypeError, ValueError, OverflowError):
            return False
    return True
