"""``ObjectSpec``: a CollectionSpec from an object file, plus what libbpf's bpf_object
offers before and after load: data sections by variable name (``spec.rodata["x"] = 1``),
autoload, map resize/type override, pinning, BTF attach targets, CO-RE diagnostics.
"""

from __future__ import annotations

from .._record import dataclass, field
from ..errors import PybpfError
from ..spec import CollectionSpec, MapSpec
from ..uapi import MapType
from .globals import DataView
from .lookup import named
from .maps import PIN_BY_NAME, MapDef
from .sections import ATTACH_BTF, SecDef

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PIN_ROOT = "/sys/fs/bpf"


@dataclass(slots=True)
class ProgInfo:
    secdef: SecDef
    poisoned: dict[int, str] = field(default_factory=dict)  # insn -> CO-RE failure


@dataclass(slots=True)
class ObjectSpec(CollectionSpec):
    path: str = ""
    license: str = "GPL"
    obj_btf: Any = None  # parsed .BTF of the object (pybpf.btf.Btf)
    data: dict[str, DataView] = field(default_factory=dict)
    map_defs: dict[str, MapDef] = field(default_factory=dict)
    prog_info: dict[str, ProgInfo] = field(default_factory=dict)
    # struct_ops hook: variable -> struct_ops.StructOpsVar (maps of .struct_ops sections)
    struct_ops: dict[str, Any] = field(default_factory=dict)

    # -- global data -------------------------------------------------------
    def _view(self, name: str) -> DataView:
        v = self.data.get(name)
        if v is None:
            raise PybpfError(f"{self.path}: the object has no {name} section")
        return v

    @property
    def rodata(self) -> DataView:
        return self._view(".rodata")

    @property
    def bss(self) -> DataView:
        return self._view(".bss")

    @property
    def data_(self) -> DataView:
        return self._view(".data")

    def set_var(self, name: str, value: Any) -> None:
        """Set a global variable wherever it lives (.rodata, .data, .bss, ...)."""
        for v in self.data.values():
            if name in v:
                v[name] = value
                return
        raise PybpfError(f"{self.path}: no global variable {name!r} (have: "
                         f"{', '.join(sorted(n for v in self.data.values() for n in v.vars))})")

    # -- knobs -------------------------------------------------------------
    def set_autoload(self, prog: str, on: bool) -> None:
        self._prog(prog).autoload = on

    def resize_map(self, name: str, max_entries: int) -> None:
        self._map(name).max_entries = max_entries

    def set_map_type(self, name: str, mtype: MapType | str) -> None:
        m = self._map(name)
        m.type = MapType[mtype.upper()] if isinstance(mtype, str) else MapType(mtype)

    def _prog(self, name: str) -> Any:
        return named(self.programs, name, "program", self.path)

    def _map(self, name: str) -> MapSpec:
        return named(self.maps, name, "map", self.path)

    def record_format(self, struct_name: str | None, map_name: str = "") -> \
            tuple[str | None, Any]:
        """(struct format, decode) for the ring/perf buffer readers' fixed-size fast path:
        the object's BTF struct ``struct_name``, or the one the map names with
        ``__type(value, struct event)``; (None, None) when neither is known."""
        from ..btf import BtfNotFound, Kind
        from .codec import record_decoder

        md = self.map_defs.get(map_name)
        tid = md.record_type_id if md is not None and struct_name is None else 0
        if not tid and struct_name is None:
            return None, None
        if self.obj_btf is None:
            raise PybpfError(f"{self.path}: no BTF to decode records with; build with -g")
        if not tid:
            try:
                tid = self.obj_btf.find(struct_name, Kind.STRUCT)
            except BtfNotFound:
                raise PybpfError(f"{self.path}: no struct {struct_name!r} in the object's "
                                 "BTF") from None
        rd = record_decoder(self.obj_btf, tid)
        if rd is None:
            raise PybpfError(f"{self.path}: type {tid} has members pybpf cannot "
                             "decode as a record (bitfields or unions)")
        return rd

    def _vm_slots(self, coll: Any) -> None:
        """Initial map-in-map / program-array slots in the vm (objects, not fds)."""
        for name, md in self.map_defs.items():
            outer = coll.maps.get(name)
            for slot, target in md.init_slots.items():
                if target in coll.maps and hasattr(outer, "set_map"):
                    outer.set_map(slot, coll.maps[target])
                elif target in coll.programs and hasattr(outer, "set_program"):
                    outer.set_program(slot, coll.programs[target])

    # -- load -------------------------------------------------------------
    def load(self, backend: str = "kernel", **options: Any) -> Any:
        """Maps (pinned ones reused), initial map-in-map slots, then programs; returns an
        ``ObjectCollection`` whose programs ``.attach()``. ``pin_root`` (default
        /sys/fs/bpf) is where maps declared ``__uint(pinning, LIBBPF_PIN_BY_NAME)`` live."""
        if backend != "kernel":
            if self.struct_ops and backend == "vm":  # struct_ops hook
                raise PybpfError(f"{self.path}: struct_ops maps ({', '.join(self.struct_ops)})"
                                 " register kernel callbacks; load with the kernel backend")
            coll = CollectionSpec.load(self, backend, **options)
            self._vm_slots(coll)
            for name, m in coll.maps.items():
                ms = self.maps.get(name)
                if ms is not None and (ms.key_type is not None or ms.value_type is not None):
                    m.typed(ms.key_type, ms.value_type)
            for name, view in self.data.items():
                view.live = coll.maps.get(name)
            return coll
        from .._gcpause import paused_gc
        from .objcoll import load_object

        with paused_gc():
            return load_object(self, **options)


def attach_btf_name(info: ProgInfo, target: str) -> tuple[str, str]:
    """(kernel BTF name, kind name) of a BTF-attached program's target."""
    d = info.secdef
    if not d.flags & ATTACH_BTF:
        return "", ""
    if d.btf_prefix == "btf_trace_":
        return "btf_trace_" + target, "TYPEDEF"
    return d.btf_prefix + target, "FUNC"


def pinned_path(md: MapDef | None, name: str, pin_root: str | None) -> str | None:
    if md is not None and md.pinning == PIN_BY_NAME:
        return f"{pin_root or DEFAULT_PIN_ROOT}/{name}"
    return None
