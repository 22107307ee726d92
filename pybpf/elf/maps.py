"""Map definitions: BTF-defined maps in ``.maps`` and the legacy ``maps`` section.

A BTF-defined map is a global variable of an anonymous struct whose members encode
the attributes in their *types* (libbpf's ``__uint(name, N)`` is ``int (*name)[N]``,
``__type(key, T)`` is ``T *key``, ``__array(values, struct inner)`` an array of
pointers to the inner map's definition). Initial slots of a map of maps (or a
program array) are ELF relocations inside the ``.maps`` section.
"""

from __future__ import annotations

import struct

from .._record import dataclass, field
from ..btf import Btf, Kind
from ..errors import BadInput
from ..spec import MapSpec
from ..uapi import MapType
from .reader import ElfFile, Section

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

PIN_NONE, PIN_BY_NAME = 0, 1
_INT_ATTRS = ("type", "max_entries", "map_flags", "numa_node", "key_size", "value_size",
              "pinning", "map_extra")


@dataclass(slots=True)
class MapDef:
    """What ``.maps`` says about one map, before it becomes a MapSpec."""

    spec: MapSpec
    pinning: int = PIN_NONE
    init_slots: dict[int, str] = field(default_factory=dict)  # slot -> map or program name
    values_off: int = -1  # byte offset of the ``values`` member inside the definition
    record_type_id: int = 0  # ring/perf buffers: the event struct named by __type(value, T)


def _map_type(v: int, where: str) -> MapType:
    try:
        return MapType(v)
    except ValueError:
        raise BadInput(f"{where}: unknown map type {v}") from None


def parse_map_struct(btf: Btf, sid: int, name: str, where: str) -> MapDef:
    """One map definition struct (type id ``sid``) -> MapDef."""
    t = btf[btf.resolve(sid)]
    if t.kind != Kind.STRUCT:
        raise BadInput(f"{where}: map {name!r} must be a struct, got {btf.type_name(sid)}")
    attrs: dict[str, int] = {}
    key_tid = value_tid = 0
    inner: MapDef | None = None
    values_off = -1
    for m in t.members:  # type: ignore[attr-defined]
        mt = btf[btf.resolve(m.type)]
        if m.name in _INT_ATTRS:
            arr = btf[btf.resolve(mt.type)] if mt.kind == Kind.PTR else None  # type: ignore[attr-defined]
            if arr is None or arr.kind != Kind.ARRAY:
                raise BadInput(f"{where}: map {name!r}: member {m.name!r} must be "
                               f"__uint({m.name}, N)")
            attrs[m.name] = arr.nelems  # type: ignore[attr-defined]
        elif m.name in ("key", "value"):
            if mt.kind != Kind.PTR:
                raise BadInput(f"{where}: map {name!r}: {m.name} must be __type({m.name}, T)")
            tid = mt.type  # type: ignore[attr-defined]
            if m.name == "key":
                key_tid = tid
            else:
                value_tid = tid
        elif m.name == "values":
            values_off = m.bit_offset // 8
            if mt.kind != Kind.ARRAY:
                raise BadInput(f"{where}: map {name!r}: values must be __array(values, ...)")
            ptr = btf[btf.resolve(mt.type)]  # type: ignore[attr-defined]
            if ptr.kind != Kind.PTR:
                raise BadInput(f"{where}: map {name!r}: values must be an array of pointers")
            target = btf[btf.resolve(ptr.type)]  # type: ignore[attr-defined]
            if target.kind == Kind.STRUCT:
                inner = parse_map_struct(btf, target.id, f"{name}.inner", where)
        else:
            raise BadInput(f"{where}: map {name!r}: unknown attribute {m.name!r}")
    if "type" not in attrs:
        raise BadInput(f"{where}: map {name!r} has no type (__uint(type, BPF_MAP_TYPE_...))")
    mtype = _map_type(attrs["type"], f"{where}: map {name!r}")
    key_size = btf.size(key_tid) if key_tid else attrs.get("key_size", 0)
    value_size = btf.size(value_tid) if value_tid else attrs.get("value_size", 0)
    if key_tid and "key_size" in attrs and attrs["key_size"] != key_size:
        raise BadInput(f"{where}: map {name!r}: key_size {attrs['key_size']} disagrees with "
                       f"the key type ({key_size} bytes)")
    if inner is not None and not value_size:
        value_size = 4
    spec = MapSpec(name, mtype, key_size, value_size, attrs.get("max_entries", 0),
                   attrs.get("map_flags", 0), inner.spec if inner else None,
                   numa_node=attrs.get("numa_node"), map_extra=attrs.get("map_extra", 0),
                   btf_key_type_id=key_tid, btf_value_type_id=value_tid,
                   key_type=key_tid or None, value_type=value_tid or None)
    record = 0
    if mtype in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY):
        # __type(value, struct event) names the record type; the map itself is sized
        # by the kernel's rules (ring: 0/0, perf: u32 cpu -> u32 fd).
        record, spec.key_type, spec.value_type = value_tid, None, None
        if mtype == MapType.RINGBUF:
            spec.key_size = spec.value_size = 0
        else:
            spec.key_size = spec.value_size = 4
    if mtype in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.ARRAY_OF_MAPS,
                 MapType.HASH_OF_MAPS, MapType.PROG_ARRAY):
        spec.btf_key_type_id = spec.btf_value_type_id = 0  # the kernel refuses BTF here
    return MapDef(spec, attrs.get("pinning", PIN_NONE), values_off=values_off,
                  record_type_id=record)


def btf_maps(elf: ElfFile, sec: Section, btf: Btf | None) -> dict[str, MapDef]:
    """Every map defined in ``.maps`` (needs the object's BTF)."""
    where = f"{elf.path}: section .maps"
    if btf is None:
        raise BadInput(f"{where}: BTF-defined maps need the object's .BTF; build with -g")
    ds = next((btf[i] for i in btf.find_all(".maps", Kind.DATASEC)), None)
    if ds is None:
        raise BadInput(f"{where}: no DATASEC .maps in the object's BTF")
    syms = {s.name: s for s in elf.symbols if s.shndx == sec.index and s.type != 3}
    out: dict[str, MapDef] = {}
    for vs in ds.vars:  # type: ignore[attr-defined]
        var = btf[vs.type]
        if var.kind != Kind.VAR:
            raise BadInput(f"{where}: DATASEC entry {vs.type} is not a variable")
        md = parse_map_struct(btf, var.type, var.name, where)  # type: ignore[attr-defined]
        sym = syms.get(var.name)
        base = sym.value if sym else vs.offset
        if md.values_off >= 0:
            # ``values`` is a flexible array: it runs to the next map (or the section end)
            end = min([s.value for s in syms.values() if s.value > base] + [sec.size])
            for r in elf.relocs.get(sec.index, []):
                if base + md.values_off <= r.offset < end:
                    slot = (r.offset - base - md.values_off) // 8
                    md.init_slots[slot] = elf.symbols[r.sym].name
        out[var.name] = md
    return out


_LEGACY = struct.Struct("<IIIII")


def legacy_maps(elf: ElfFile, sec: Section) -> dict[str, MapDef]:
    """``struct bpf_map_def`` records in the legacy ``maps`` section, one per symbol."""
    syms = sorted((s for s in elf.symbols if s.shndx == sec.index and s.type != 3 and s.name),
                  key=lambda s: s.value)
    out: dict[str, MapDef] = {}
    if not syms:
        return out
    size = sec.size // len(syms)
    if size < _LEGACY.size:
        raise BadInput(f"{elf.path}: section {sec.name}: map definitions of {size} bytes are "
                       f"too small for struct bpf_map_def ({_LEGACY.size})")
    for s in syms:
        if s.value + _LEGACY.size > len(sec.data):
            raise BadInput(f"{elf.path}: section {sec.name}: map {s.name!r} lies outside it")
        t, k, v, n, f = _LEGACY.unpack_from(sec.data, s.value)
        out[s.name] = MapDef(MapSpec(s.name, _map_type(t, f"{elf.path}: map {s.name!r}"),
                                     k, v, n, f))
    return out


def typed_codec(btf: Btf, tid: int) -> Any:
    """A codec (pybpf.mapapi) decoding values of BTF type ``tid``, or None if unsupported."""
    from .codec import btf_codec

    return btf_codec(btf, tid)
