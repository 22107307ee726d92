"""One type as a dict, shaped like an entry of ``bpftool -j btf dump ... format raw``."""

from __future__ import annotations

from . import types as T
from .format import Kind

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from .parse import Btf

_ENCODING = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_FUNC_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_VAR_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def type_json(btf: Btf, tid: int) -> dict[str, Any]:
    t = btf[tid]
    d: dict[str, Any] = {"id": tid, "kind": t.kind.name, "name": t.name or "(anon)"}
    if isinstance(t, T.Int):
        d.update(size=t.size, bits_offset=t.bit_offset, nr_bits=t.bits,
                 encoding=_ENCODING.get(t.encoding, f"UNKN({t.encoding})"))
    elif isinstance(t, T.Func):
        d.update(type_id=t.type, linkage=_FUNC_LINKAGE.get(t.linkage, str(t.linkage)))
    elif isinstance(t, T.Var):
        d.update(type_id=t.type, linkage=_VAR_LINKAGE.get(t.linkage, str(t.linkage)))
    elif isinstance(t, T.DeclTag):
        d.update(type_id=t.type, component_idx=t.component_idx)
    elif isinstance(t, T.Ref):
        d.update(type_id=t.type)
    elif isinstance(t, T.Array):
        d.update(type_id=t.type, index_type_id=t.index_type, nr_elems=t.nelems)
    elif isinstance(t, T.Struct):
        members = []
        for m in t.members:
            md: dict[str, Any] = {"name": m.name or "(anon)", "type_id": m.type,
                                  "bits_offset": m.bit_offset}
            if m.bitfield_size:
                md["bitfield_size"] = m.bitfield_size
            members.append(md)
        d.update(size=t.size, vlen=len(t.members), members=members)
    elif isinstance(t, T.Enum):
        d.update(encoding="SIGNED" if t.signed else "UNSIGNED", size=t.size,
                 vlen=len(t.values), values=[{"name": v.name, "val": v.value} for v in t.values])
    elif isinstance(t, T.Fwd):
        d.update(fwd_kind="union" if t.is_union else "struct")
    elif isinstance(t, T.FuncProto):
        d.update(ret_type_id=t.ret, vlen=len(t.params),
                 params=[{"name": p.name or "(anon)", "type_id": p.type} for p in t.params])
    elif isinstance(t, T.Float):
        d.update(size=t.size)
    elif isinstance(t, T.Datasec):
        d.update(size=t.size, vlen=len(t.vars),
                 vars=[{"type_id": v.type, "offset": v.offset, "size": v.size} for v in t.vars])
    elif t.kind == Kind.UNKN:
        d.update(kind="VOID")
    return d


def type_raw(btf: Btf, tid: int) -> str:
    """One type as ``bpftool btf dump ... format raw`` prints it (lines, no final newline)."""
    d = type_json(btf, tid)
    head = f"[{tid}] {d['kind']} '{d['name']}'"
    t = btf[tid]
    if isinstance(t, T.Int):
        return (f"{head} size={t.size} bits_offset={t.bit_offset} nr_bits={t.bits} "
                f"encoding={d['encoding']}")
    if isinstance(t, T.Func):
        return f"{head} type_id={t.type} linkage={d['linkage']}"
    if isinstance(t, T.Var):
        return f"{head} type_id={t.type}, linkage={d['linkage']}"
    if isinstance(t, T.DeclTag):
        return f"{head} type_id={t.type} component_idx={t.component_idx}"
    if isinstance(t, T.Ref):
        return f"{head} type_id={t.type}"
    if isinstance(t, T.Array):
        return f"{head} type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}"
    if isinstance(t, T.Struct):
        lines = [f"{head} size={t.size} vlen={len(t.members)}"]
        for m in t.members:
            bf = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
            lines.append(f"\t'{m.name or '(anon)'}' type_id={m.type} "
                         f"bits_offset={m.bit_offset}{bf}")
        return "\n".join(lines)
    if isinstance(t, T.Enum):
        lines = [f"{head} encoding={d['encoding']} size={t.size} vlen={len(t.values)}"]
        sfx = ("LL" if t.signed else "ULL") if t.kind == Kind.ENUM64 else ""
        lines += [f"\t'{v.name}' val={v.value}{sfx}" for v in t.values]
        return "\n".join(lines)
    if isinstance(t, T.Fwd):
        return f"{head} fwd_kind={d['fwd_kind']}"
    if isinstance(t, T.FuncProto):
        lines = [f"{head} ret_type_id={t.ret} vlen={len(t.params)}"]
        lines += [f"\t'{p.name or '(anon)'}' type_id={p.type}" for p in t.params]
        return "\n".join(lines)
    if isinstance(t, T.Float):
        return f"{head} size={t.size}"
    if isinstance(t, T.Datasec):
        lines = [f"{head} size={t.size} vlen={len(t.vars)}"]
        for v in t.vars:
            vt = btf[v.type]
            lines.append(f"\ttype_id={v.type} offset={v.offset} size={v.size} "
                         f"({vt.kind.name} '{vt.name or '(anon)'}')")
        return "\n".join(lines)
    return head
