"""Codecs from BTF types, so maps and ring buffer records decode into named fields."""

from __future__ import annotations

import keyword
import struct

from ..btf import Btf, Kind
from ..mapapi import Codec, IntCodec, StructCodec

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_FMT = {1: "b", 2: "h", 4: "i", 8: "q"}


def _int_fmt(btf: Btf, tid: int) -> tuple[str, bool] | None:
    t = btf[btf.resolve(tid)]
    if t.kind == Kind.PTR:
        return "Q", False
    if t.kind in (Kind.INT, Kind.ENUM, Kind.ENUM64):
        size = t.size  # type: ignore[attr-defined]
        if size not in _FMT:
            return None
        signed = bool(t.signed)  # type: ignore[attr-defined]
        f = _FMT[size]
        return (f if signed else f.upper()), signed
    return None


def _is_char(btf: Btf, tid: int) -> bool:
    t = btf[btf.resolve(tid)]
    return t.kind == Kind.INT and t.size == 1  # type: ignore[attr-defined]


def btf_codec(btf: Btf, tid: int) -> Codec | None:
    """An IntCodec for scalars; a StructCodec (named tuple) for structs of scalars, char
    arrays (decoded as strings) and other members (raw bytes); None otherwise."""
    rid = btf.resolve(tid)
    t = btf[rid]
    f = _int_fmt(btf, rid)
    if f is not None and t.kind != Kind.PTR:
        return IntCodec(btf.size(rid), f[1])
    if t.kind not in (Kind.STRUCT, Kind.UNION) or t.kind == Kind.UNION:
        return None
    fmt = ["<"]
    names: list[str] = []
    strings: list[str] = []
    pos = 0
    for fld in btf.fields(rid):
        if fld.bitfield_size or fld.bit_offset % 8 or not fld.name:
            continue
        off = fld.bit_offset // 8
        if off < pos:
            continue  # union members overlap: keep the first
        size = btf.size(fld.type)
        ft = btf[btf.resolve(fld.type)]
        name = fld.name + "_" if keyword.iskeyword(fld.name) else fld.name
        if off > pos:
            fmt.append(f"{off - pos}x")
        scalar = _int_fmt(btf, fld.type)
        if scalar is not None:
            fmt.append(scalar[0])
        else:
            fmt.append(f"{size}s")
            if ft.kind == Kind.ARRAY and _is_char(btf, ft.type):  # type: ignore[attr-defined]
                strings.append(name)
        names.append(name)
        pos = off + size
    total = btf.size(rid)
    if total > pos:
        fmt.append(f"{total - pos}x")
    if not names or struct.calcsize("".join(fmt)) != total:
        return None
    return StructCodec("".join(fmt), names, strings=strings, typename=t.name or "Record")


def record_decoder(btf: Btf, tid: int) -> tuple[str, Any] | None:
    """(struct format, decode) for a ring buffer reader's fixed-size fast path."""
    c = btf_codec(btf, tid)
    if not isinstance(c, StructCodec):
        return None
    strings = c._strings  # noqa: SLF001 - same package family, documented fields

    def decode(vals: Any) -> Any:
        vals = list(vals)
        for i in strings:
            vals[i] = vals[i].split(b"\0", 1)[0].decode(errors="replace")
        return c.type(*vals)

    return c._struct.format, decode  # noqa: SLF001
