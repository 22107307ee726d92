"""Kernel struct types for the language, from BTF: casts, ``->`` and sizeof.

bpftrace resolves ``((struct task_struct *)curtask)->real_parent->pid`` against
the kernel's BTF; this module maps BTF types onto the language's ``Type``
(pointers keep the C name of what they point to, so a later ``->`` can look the
member up again). BTF is loaded only when a script uses a struct.
"""

from __future__ import annotations

from . import types as T

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def struct_id(btf: Any, name: str) -> int | None:
    """The BTF id of ``struct X`` / ``union X`` / ``X`` (None when absent)."""
    from ..btf import Kind

    kinds = [Kind.STRUCT, Kind.UNION]
    name = name.replace("const ", "")
    if name.endswith("*"):  # a tracepoint field's C spelling "struct X *": the pointee
        name = name[:-1].rstrip()
    if name.startswith("struct "):
        name, kinds = name[7:], [Kind.STRUCT]
    elif name.startswith("union "):
        name, kinds = name[6:], [Kind.UNION]
    for kind in kinds:
        try:
            return int(btf.find(name, kind))
        except Exception:  # noqa: BLE001 - absent under this kind
            continue
    return None


def to_type(btf: Any, tid: int) -> T.Type:
    """The language type of BTF type ``tid`` (typedefs and qualifiers skipped)."""
    from ..btf import Kind

    t = btf[btf.resolve(tid)]
    kind = t.kind
    if kind == Kind.INT:
        return T.Type("int", t.size if t.size in (1, 2, 4, 8) else 8, bool(t.encoding & 1))
    if kind in (Kind.ENUM, getattr(Kind, "ENUM64", Kind.ENUM)):
        return T.Type("int", t.size if t.size in (1, 2, 4, 8) else 8, True)
    if kind == Kind.PTR:
        target = btf[btf.resolve(t.type)] if t.type else None
        if target is not None and target.kind in (Kind.STRUCT, Kind.UNION) and target.name:
            prefix = "struct" if target.kind == Kind.STRUCT else "union"
            return T.Type("pointer", 8, False, (), f"{prefix} {target.name}")
        return T.Type("int", 8, False)
    if kind == Kind.ARRAY:
        elem = btf[btf.resolve(t.type)]
        if elem.kind == Kind.INT and elem.size == 1:
            return T.string(t.nelems)
        return T.Type("array", btf.size(tid), False, (to_type(btf, t.type),))
    if kind in (Kind.STRUCT, Kind.UNION):
        prefix = "struct" if kind == Kind.STRUCT else "union"
        return T.Type("record", t.size, False, (), f"{prefix} {t.name}")
    return T.Type("int", 8, False)


def member(btf: Any, struct_name: str, field: str) -> tuple[T.Type, int, int] | None:
    """(type, byte offset, bitfield bits) of ``field`` in ``struct_name``, or None."""
    sid = struct_id(btf, struct_name)
    if sid is None:
        return None
    try:
        f = btf.member(sid, field)
    except Exception:  # noqa: BLE001 - no such member
        return None
    return to_type(btf, f.type), f.bit_offset // 8, int(f.bitfield_size)


def bitfield(btf: Any, struct_name: str, field: str) -> tuple[int, int, int] | None:
    """(byte offset, bit shift inside it, bits) of a bitfield member, else None."""
    sid = struct_id(btf, struct_name)
    if sid is None:
        return None
    try:
        f = btf.member(sid, field)
    except Exception:  # noqa: BLE001 - no such member
        return None
    if not f.bitfield_size:
        return None
    return f.bit_offset // 8, f.bit_offset % 8, int(f.bitfield_size)


def sizeof(btf: Any, name: str) -> int | None:
    sid = struct_id(btf, name)
    return None if sid is None else int(btf.size(sid))
