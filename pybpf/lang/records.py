"""Whole structs and arrays read into maps, print() and map keys, printed as bpftrace 0.17:
``{ .a = 1, .b = str, .c = [2,0] }`` as a value, ``{.a=1,.b=str,.c=[2,0]}`` as a key.

Programs copy the raw bytes; the layout comes from BTF when the value is printed.
bpftrace 0.17 prints pointer members as their low 32 bits, signed; so does this.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_INT = {(1, False): "<B", (1, True): "<b", (2, False): "<H", (2, True): "<h",
        (4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}


@dataclass(frozen=True, slots=True)
class RecordValue:
    """A decoded struct: (member name, value) pairs; values are int, str, list or records."""

    fields: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        return "{ " + ", ".join(f".{n} = {_text(v, False)}" for n, v in self.fields) + " }"

    def key_text(self) -> str:
        return "{" + ",".join(f".{n}={_text(v, True)}" for n, v in self.fields) + "}"


def _text(v: Any, key: bool) -> str:
    if isinstance(v, RecordValue):
        return v.key_text() if key else str(v)
    if isinstance(v, list):
        return "[" + ",".join(_text(x, key) for x in v) + "]"
    return str(v)


def decode_record(btf: Any, name: str, raw: bytes) -> RecordValue:
    """The struct ``name`` laid over ``raw`` (missing bytes read as zero)."""
    from .btftypes import struct_id

    sid = struct_id(btf, name)
    if sid is None:
        return RecordValue(())
    return _decode_struct(btf, sid, raw)


def _decode_struct(btf: Any, sid: int, raw: bytes) -> RecordValue:
    out = []
    for f in btf.fields(sid):
        byte, bit = divmod(f.bit_offset, 8)
        if f.bitfield_size:
            word = int.from_bytes(raw[byte:byte + 8].ljust(8, b"\0"), "little")
            out.append((f.name, (word >> bit) & ((1 << f.bitfield_size) - 1)))
        else:
            out.append((f.name, _decode(btf, f.type, raw, byte)))
    return RecordValue(tuple(out))


def _decode(btf: Any, tid: int, raw: bytes, off: int) -> Any:
    from ..btf import Kind

    rid = btf.resolve(tid)
    t = btf[rid]
    kind = t.kind
    if kind in (Kind.STRUCT, Kind.UNION):
        return _decode_struct(btf, rid, raw[off:off + t.size].ljust(t.size, b"\0"))
    if kind == Kind.ARRAY:
        elem = btf[btf.resolve(t.type)]
        if elem.kind == Kind.INT and elem.size == 1:
            chunk = raw[off:off + t.nelems]
            return chunk.split(b"\0", 1)[0].decode(errors="replace")
        esize = btf.size(t.type)
        return [_decode(btf, t.type, raw, off + i * esize) for i in range(t.nelems)]
    if kind == Kind.PTR:
        v = struct.unpack_from("<i", raw.ljust(off + 8, b"\0"), off)[0]
        return int(v)
    size = t.size if getattr(t, "size", 0) in (1, 2, 4, 8) else 8
    signed = bool(getattr(t, "encoding", 0) & 1) or kind != Kind.INT
    fmt = _INT[(size, signed)]
    return int(struct.unpack_from(fmt, raw.ljust(off + size, b"\0"), off)[0])
