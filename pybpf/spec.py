"""Specs: what a program and its maps are, before any backend makes them live.

Everything that produces eBPF code (assembler, object loader, tracing
language, the Python builder) produces these; the kernel and vm backends turn
them into live ``Collection`` objects. Specs are plain data: printable,
comparable and testable without privileges.
"""

from __future__ import annotations

from ._record import dataclass, field
from .asm.insn import Insn
from .asm.opcodes import PseudoSrc
from .uapi import AttachType, MapType, ProgType

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from .collection import Collection


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where an instruction came from: a script or C source position."""

    file: str
    line: int
    col: int = 0
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.col else f"{self.file}:{self.line}"


@dataclass(slots=True)
class MapRef:
    """An ``lddw`` at slot ``index`` that must load map ``name`` (its fd, or its value + offset)."""

    index: int
    name: str
    kind: int = PseudoSrc.MAP_FD  # or PseudoSrc.MAP_VALUE
    offset: int = 0


@dataclass(slots=True)
class MapSpec:
    """A map to create: the fields of BPF_MAP_CREATE, plus initial contents."""

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    inner: MapSpec | None = None  # template for array/hash of maps
    contents: list[tuple[bytes, bytes]] = field(default_factory=list)
    freeze: bool = False  # .rodata-style: frozen after the contents are written
    pin_path: str | None = None
    numa_node: int | None = None
    map_extra: int = 0  # bloom filter hash count, arena address
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    key_type: Any = None  # optional codec or BTF type for typed access
    value_type: Any = None

    def copy(self) -> MapSpec:
        return MapSpec(
            self.name, self.type, self.key_size, self.value_size, self.max_entries,
            self.flags, self.inner.copy() if self.inner else None, list(self.contents),
            self.freeze, self.pin_path, self.numa_node, self.map_extra,
            self.btf_key_type_id, self.btf_value_type_id, self.key_type, self.value_type,
        )


@dataclass(slots=True)
class ProgramSpec:
    """A program to load: instructions + type + attach target + license (+ BTF)."""

    name: str
    type: ProgType
    insns: list[Insn]
    license: str = "GPL"
    section: str = ""
    attach_type: AttachType | None = None
    attach_to: str = ""  # e.g. "syscalls/sys_enter_openat", "eth0", "/bin/bash:readline"
    map_refs: list[MapRef] = field(default_factory=list)
    source_map: dict[int, SourceLoc] = field(default_factory=dict)
    kern_version: int = 0
    flags: int = 0
    btf: Any = None  # BTF blob (bytes) or object carrying func/line info
    func_info: list[Any] = field(default_factory=list)
    line_info: list[Any] = field(default_factory=list)
    autoload: bool = True

    def copy(self) -> ProgramSpec:
        return ProgramSpec(
            self.name, self.type, list(self.insns), self.license, self.section,
            self.attach_type, self.attach_to,
            [MapRef(r.index, r.name, r.kind, r.offset) for r in self.map_refs],
            dict(self.source_map), self.kern_version, self.flags, self.btf,
            list(self.func_info), list(self.line_info), self.autoload,
        )


@dataclass(slots=True)
class CollectionSpec:
    """Programs and the maps they share."""

    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    maps: dict[str, MapSpec] = field(default_factory=dict)
    btf: Any = None

    def load(self, backend: str = "kernel", **options: Any) -> Collection:
        """Make every map and program live in ``backend`` ("kernel" or "vm")."""
        if backend == "vm":
            from .vm.collection import load_collection as vm_load

            return vm_load(self, **options)
        if backend == "kernel":
            from .kernel.collection import load_collection as kernel_load

            return kernel_load(self, **options)
        from .errors import BadInput

        raise BadInput(f"unknown backend {backend!r}: choose 'kernel' or 'vm'")
