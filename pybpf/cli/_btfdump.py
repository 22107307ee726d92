"""Map keys and values formatted through their BTF types, as bpftool's btf_dumper prints them.

``bpftool map dump`` of a map with BTF prints each entry as a (pretty) JSON-like
object: ints as numbers, char arrays as strings, enums by name, structs as
objects. In plain-text mode a few scalars are not valid JSON (non-printable chars
as ``0x1``, pointers as ``0x...``, bitfields in hex); those come back as ``Raw``
strings that the writer emits verbatim.
"""

from __future__ import annotations

import struct

from ..btf import Btf, Kind
from ..btf import types as T

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4


class Raw(str):
    """Text the JSON writer prints as is (bpftool's jsonw_printf in plain-text mode)."""


def btf_by_id(btf_id: int) -> Btf | None:
    """The kernel BTF object ``btf_id`` (a map's or program's), parsed; None if it cannot
    be read."""
    import ctypes

    from ..kernel.info import fd_by_id, obj_info
    from ..kernel.syscall import BtfInfo, addr_of, close_fd

    try:
        fd = fd_by_id("btf", btf_id)
    except Exception:  # noqa: BLE001 - no BTF: the caller prints hex
        return None
    try:
        size = int(obj_info(fd, BtfInfo).btf_size)
        buf = ctypes.create_string_buffer(size)
        obj_info(fd, BtfInfo, BtfInfo(btf=addr_of(buf), btf_size=size))
        return Btf.from_bytes(buf.raw)
    except Exception:  # noqa: BLE001
        return None
    finally:
        close_fd(fd)


def _isprint(c: int) -> bool:
    return 0x20 <= c < 0x7F


def _int128(lo: int, hi: int, plain: bool) -> Any:
    """bpftool's btf_int128_print: hex, bare in plain text and quoted in JSON."""
    text = f"0x{lo:x}" if hi == 0 else f"0x{hi:x}{lo:016x}"
    return Raw(text) if plain else text


def _bits(data: bytes, bit_offset: int, nbits: int, plain: bool) -> Any:
    nbytes = (bit_offset + nbits + 7) // 8
    v = int.from_bytes(data[:nbytes], "little") >> bit_offset
    v &= (1 << nbits) - 1
    return _int128(v & ((1 << 64) - 1), v >> 64, plain)


def _int(t: T.Int, bit_offset: int, data: bytes, plain: bool) -> Any:
    if bit_offset or t.bit_offset or t.bits % 8:
        return _bits(data, bit_offset + t.bit_offset, t.bits, plain)
    if t.bits == 128:
        lo, hi = struct.unpack_from("<QQ", data)
        return _int128(lo, hi, plain)
    n = t.bits // 8
    enc = t.encoding
    if enc == INT_CHAR:
        c = data[0]
        if _isprint(c):
            return Raw(f'"{chr(c)}"') if plain else chr(c)
        return Raw(f"0x{c:x}") if plain else chr(c)
    if enc == INT_BOOL:
        return bool(data[0])
    if n not in (1, 2, 4, 8):
        return _bits(data, 0, t.bits, plain)
    return int.from_bytes(data[:n], "little", signed=enc == INT_SIGNED)


def _is_str_array(btf: Btf, arr: T.Array, data: bytes) -> bool:
    if not arr.nelems:
        return False
    et = btf[btf.skip_mods(arr.type)]
    if not isinstance(et, T.Int) or et.size != 1:
        return False
    if et.encoding != INT_CHAR and et.name != "char":
        return False
    for c in data[:arr.nelems]:
        if c == 0:
            return True
        if c <= 0x1F or c >= 0x7F:
            return False
    return False


def format_type(btf: Btf, tid: int, data: bytes, plain: bool, bit_offset: int = 0) -> Any:
    """The value of type ``tid`` stored in ``data``, as bpftool's btf_dumper renders it."""
    if tid == 0:
        return Raw("(unknown)") if plain else "(unknown)"
    t = btf[tid]
    k = t.kind
    if isinstance(t, T.Int):
        return _int(t, bit_offset, data, plain)
    if isinstance(t, T.Struct):  # struct or union
        out: dict[str, Any] = {}
        for m in t.members:
            off = m.bit_offset
            start = off // 8
            if m.bitfield_size:
                out[m.name] = _bits(data[start:], off % 8, m.bitfield_size, plain)
            else:
                out[m.name] = format_type(btf, m.type, data[start:], plain, off % 8)
        return out
    if isinstance(t, T.Array):
        if _is_str_array(btf, t, data):
            return data[:data.index(0)].decode("latin-1")
        size = btf.size(t.type)
        return [format_type(btf, t.type, data[i * size:], plain) for i in range(t.nelems)]
    if isinstance(t, T.Enum):
        if k == Kind.ENUM64:
            v = int.from_bytes(data[:8], "little")
        else:
            v = int.from_bytes(data[:t.size], "little", signed=True)
        for ev in t.values:
            if ev.value == v or (k == Kind.ENUM and (ev.value & 0xFFFFFFFF) == (v & 0xFFFFFFFF)):
                return ev.name
        return v
    if isinstance(t, T.Ptr):
        v = int.from_bytes(data[:8], "little")
        if plain:
            return Raw(f"0x{v:x}" if v else "(nil)")
        return v
    if isinstance(t, T.Var):
        return {t.name: format_type(btf, t.type, data, plain)}
    if isinstance(t, T.Datasec):
        return [format_type(btf, vs.type, data[vs.offset:], plain) for vs in t.vars]
    if isinstance(t, T.Float):
        fmt = {4: "<f", 8: "<d"}.get(t.size)
        val = struct.unpack_from(fmt, data)[0] if fmt else 0.0
        return Raw(f"{val:f}")
    if isinstance(t, T.Ref):  # typedef, const, volatile, restrict, type tag
        return format_type(btf, t.type, data, plain, bit_offset)
    if isinstance(t, T.Fwd):
        return Raw("(fwd-kind-invalid)") if plain else "(fwd-kind-invalid)"
    return Raw("(unknown)") if plain else "(unknown)"


def format_entry(btf: Btf, key_tid: int, value_tid: int, key: bytes, value: bytes,
                 ncpus: int, percpu: bool, value_size: int, plain: bool) -> dict[str, Any]:
    """bpftool's do_dump_btf: {"key": ..., "value": ...} or per-CPU "values"."""
    out: dict[str, Any] = {}
    if key_tid:
        out["key"] = format_type(btf, key_tid, key, plain)
    if not percpu:
        out["value"] = format_type(btf, value_tid, value, plain)
    else:
        step = (value_size + 7) & ~7
        out["values"] = [{"cpu": c, "value": format_type(btf, value_tid, value[c * step:], plain)}
                         for c in range(ncpus)]
    return out


def _type_only(btf: Btf, tid: int) -> str:
    """bpftool's __btf_dumper_type_only: a C-ish spelling, each part followed by a space."""
    if tid == 0:
        return "void "
    t = btf[tid]
    if isinstance(t, T.Int | T.Typedef | T.Float):
        return f"{t.name} "
    if isinstance(t, T.Union):
        return f"union {t.name} "
    if isinstance(t, T.Struct):
        return f"struct {t.name} "
    if isinstance(t, T.Enum):
        return f"enum {t.name} "
    if isinstance(t, T.Array):
        return f"{_type_only(btf, t.type)}[{t.nelems}]"
    if isinstance(t, T.Ptr):
        return f"{_type_only(btf, t.type)}* "
    if isinstance(t, T.Fwd):
        return f"{'union' if t.is_union else 'struct'} {t.name} "
    if isinstance(t, T.Volatile):
        return "volatile " + _type_only(btf, t.type)
    if isinstance(t, T.Const):
        return "const " + _type_only(btf, t.type)
    if isinstance(t, T.Restrict):
        return "restrict " + _type_only(btf, t.type)
    if isinstance(t, T.FuncProto):
        return _func(btf, t, "")
    if isinstance(t, T.Func):
        proto = btf[t.type]
        return _func(btf, proto, t.name) if isinstance(proto, T.FuncProto) else ""
    raise ValueError(f"type {tid}: no bpftool spelling")


def _func(btf: Btf, proto: T.FuncProto, name: str) -> str:
    out = _type_only(btf, proto.ret) + (f"{name}(" if name else "(")
    for i, p in enumerate(proto.params):
        if i:
            out += ", "
        if p.type:
            out += _type_only(btf, p.type)
            if p.name:
                out += p.name
            elif out.endswith(" "):
                out = out[:-1]
        else:
            out += "..."
    return out + ")"


def func_signature(btf: Btf, tid: int) -> str:
    """``int prog(struct __sk_buff * skb)`` for FUNC ``tid``, as bpftool prints it ("" if the
    type cannot be spelled)."""
    try:
        return _type_only(btf, tid)
    except (ValueError, KeyError, IndexError):
        return ""
