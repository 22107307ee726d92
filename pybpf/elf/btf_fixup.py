"""Fix the object's BTF before the kernel sees it (libbpf's btf_fixup_datasec and extern
sanitizing).

clang leaves DATASEC sizes and variable offsets 0 for data sections; the kernel wants
the real ones (sorted, non-overlapping). ``.kconfig`` gets the layout pybpf chose; the
``.ksyms`` DATASEC lists ints 4 bytes apart, its functions (not allowed in a kernel
DATASEC) replaced by a ``dummy_ksym`` VAR, as libbpf does; extern VARs and FUNCs become
global ones. Patched in place, so every type id stays the same; only ``dummy_ksym`` (when
there are kfuncs) is appended, after the last type.
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
    ksyms: tuple[int, list[tuple[int, int, int]]] | None = None
    for off, kind, vlen in recs:
        if kind != Kind.DATASEC:
            continue
        name = _name(buf, s0, _W.unpack_from(buf, off)[0])
        base = off + 12
        ents = [struct.unpack_from("<III", buf, base + 12 * i) for i in range(vlen)]
        if name == ".ksyms":
            if not int_id:
                raise BadInput(f"{path}: .BTF: __ksym externs need an int type in the BTF")
            ksyms = (off, ents)
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
    if ksyms is not None:
        buf = _fix_ksyms(buf, recs, int_id, *ksyms)
    return bytes(buf)


def _fix_ksyms(buf: bytearray, recs: list[tuple[int, int, int]], int_id: int,
               off: int, ents: list[tuple[int, int, int]]) -> bytearray:
    """The ``.ksyms`` DATASEC as libbpf leaves it (bpf_object__collect_externs): every
    entry an int 4 bytes after the last; a VAR typed int (its linkage made global above);
    a kernel function (not allowed in a kernel DATASEC) replaced by one ``dummy_ksym``
    int VAR appended to the BTF, whose name also fills the function's unnamed params."""
    has_func = any(recs[vtype][1] == Kind.FUNC for vtype, _o, _s in ents)
    dummy, name_off = len(recs), HEADER.unpack_from(buf)[7]  # the next id; end of strings
    base = off + 12
    for i, (vtype, _o, _s) in enumerate(ents):
        if recs[vtype][1] == Kind.FUNC:
            poff, _pk, pvlen = recs[_W.unpack_from(buf, recs[vtype][0] + 8)[0]]
            for j in range(pvlen):  # btf_param: name_off, type
                p = poff + 12 + 8 * j
                pname, ptype = struct.unpack_from("<II", buf, p)
                if ptype and not pname:
                    _W.pack_into(buf, p, name_off)
            vtype = dummy
        else:
            _W.pack_into(buf, recs[vtype][0] + 8, int_id)
        struct.pack_into("<III", buf, base + 12 * i, vtype, 4 * i, 4)
    _W.pack_into(buf, off + 8, 4 * len(ents))
    return _append_var(buf, "dummy_ksym", int_id) if has_func else buf


def _append_var(buf: bytearray, name: str, type_id: int) -> bytearray:
    """``buf`` with a global VAR ``name`` of ``type_id`` added after the last type (so its
    id is the next one, and its name's offset the old string section's length)."""
    magic, version, flags, hdr_len, t_off, t_len, s_off, s_len = HEADER.unpack_from(buf)
    types = buf[hdr_len + t_off:hdr_len + t_off + t_len]
    strs = buf[hdr_len + s_off:hdr_len + s_off + s_len]
    types += struct.pack("<IIII", s_len, int(Kind.VAR) << 24, type_id, 1)  # linkage global
    strs += name.encode() + b"\0"
    out = bytearray(buf[:hdr_len])
    HEADER.pack_into(out, 0, magic, version, flags, hdr_len, 0, len(types), len(types),
                     len(strs))
    return out + types + strs
