"""Fix the object's BTF before the kernel sees it (libbpf's btf_fixup_datasec and extern
sanitizing).

clang leaves DATASEC sizes and variable offsets 0 for data sections; the kernel wants
the real ones (sorted, non-overlapping). ``.kconfig`` gets the layout pybpf chose; the
``.ksyms`` DATASEC (which may list functions, not allowed in a kernel DATASEC) becomes
an anonymous struct of ints; extern VARs and FUNCs become global ones. Patched in place
(no record changes length), so every type id stays the same.
"""

from __future__ import annotations

import struct

from ..btf.format import HEADER, Kind, record_words
from ..errors import BadInput

_W = struct.Struct("<I")


def _records(buf: bytearray, path: str) -> tuple[list[tuple[int, int, int]], int]:
    """[(byte offset, kind, vlen)] per type id (index 0 = void), and the string start."""
    _m, _v, _f, hdr_len, t_off, t_len, s_off, _s_len = HEADER.unpack_from(buf)
    start, end = hdr_len + t_off, hdr_len + t_off + t_len
    recs: list[tuple[int, int, int]] = [(0, 0, 0)]
    pos = start
    while pos < end:
        info, = _W.unpack_from(buf, pos + 4)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        if kind == 0 or kind > 19:
            raise BadInput(f"{path}: .BTF: type {len(recs)} has unknown kind {kind}")
        recs.append((pos, kind, vlen))
        pos += record_words(kind, vlen) * 4
    if pos != end:
        raise BadInput(f"{path}: .BTF: type records overrun the type section")
    return recs, hdr_len + s_off


def _is_void(buf: bytearray, recs: list[tuple[int, int, int]], tid: int) -> bool:
    """Whether ``tid`` is void, possibly behind const/volatile/restrict/type_tag."""
    for _ in range(32):
        if tid == 0:
            return True
        if tid >= len(recs) or recs[tid][1] not in (9, 10, 11, 18):
            return False
        tid = _W.unpack_from(buf, recs[tid][0] + 8)[0]
    return False


def _name(buf: bytearray, str_start: int, off: int) -> str:
    e = buf.find(b"\0", str_start + off)
    return buf[str_start + off:e].decode(errors="replace")


def fixup_btf(raw: bytes, path: str, sec_sizes: dict[str, int],
              sec_syms: dict[str, dict[str, int]], kconfig: dict[str, tuple[int, int]],
              kconfig_size: int) -> bytes:
    """The patched BTF blob.

    ``sec_sizes``: ELF section sizes by name; ``sec_syms``: section -> {var: offset};
    ``kconfig``: name -> (offset, size) of each __kconfig extern.
    """
    buf = bytearray(raw)
    recs, s0 = _records(buf, path)
    int_id = next((i for i, (off, k, _v) in enumerate(recs) if k == Kind.INT
                   and _W.unpack_from(buf, off + 8)[0] == 4), 0)
    for _tid, (off, kind, vlen) in enumerate(recs):
        if kind == Kind.VAR:
            if _W.unpack_from(buf, off + 12)[0] == 2:  # BTF_VAR_GLOBAL_EXTERN
                _W.pack_into(buf, off + 12, 1)
            if _is_void(buf, recs, _W.unpack_from(buf, off + 8)[0]) and int_id:
                _W.pack_into(buf, off + 8, int_id)  # typeless ksym: ``const void x``
        elif kind == Kind.FUNC and vlen == 2:  # BTF_FUNC_EXTERN -> GLOBAL
            info, = _W.unpack_from(buf, off + 4)
            _W.pack_into(buf, off + 4, (info & ~0xFFFF) | 1)
    for off, kind, vlen in recs:
        if kind != Kind.DATASEC:
            continue
        name = _name(buf, s0, _W.unpack_from(buf, off)[0])
        base = off + 12
        ents = [struct.unpack_from("<III", buf, base + 12 * i) for i in range(vlen)]
        if name == ".ksyms":
            if not int_id:
                raise BadInput(f"{path}: .BTF: __ksym externs need an int type in the BTF")
            _W.pack_into(buf, off, 0)
            _W.pack_into(buf, off + 4, (int(Kind.STRUCT) << 24) | vlen)
            _W.pack_into(buf, off + 8, 4 * vlen)
            for i in range(vlen):
                struct.pack_into("<III", buf, base + 12 * i, 0, int_id, 32 * i)
            continue
        if name == ".kconfig":
            size = kconfig_size
            offs = {n: o for n, (o, _s) in kconfig.items()}
        else:
            size = sec_sizes.get(name, _W.unpack_from(buf, off + 8)[0])
            offs = sec_syms.get(name, {})
        fixed = []
        for vtype, voff, vsize in ents:
            vrec = recs[vtype] if vtype < len(recs) else None
            vname = _name(buf, s0, _W.unpack_from(buf, vrec[0])[0]) if vrec else ""
            fixed.append((vtype, offs.get(vname, voff), vsize))
        fixed.sort(key=lambda e: e[1])
        if size >= 1 << 32 or any(not 0 <= e[1] < 1 << 32 for e in fixed):
            raise BadInput(f"{path}: section {name}: size or variable offsets out of range")
        _W.pack_into(buf, off + 8, size)
        for i, ent in enumerate(fixed):
            struct.pack_into("<III", buf, base + 12 * i, *ent)
    return bytes(buf)
