"""Global data (.data/.rodata/.bss/.data.*/.rodata.*) as single-entry array maps, and the
externs libbpf fills in: ``.kconfig`` (kernel version, CONFIG_*) and ``.ksyms``.

``DataView`` is how Python reads and writes a section's variables by name, before
load (the initial contents) and after (the live map), using the DATASEC layout.
"""

from __future__ import annotations

import os

from .._record import dataclass, field
from ..btf import Btf, Kind
from ..errors import BadInput, PybpfError
from ..spec import MapSpec
from ..uapi import MapType
from .lookup import named
from .reader import SHT_NOBITS, STB_WEAK, ElfFile, Section

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10
MAX_DATA = 1 << 30  # far above what an array map value may be; guards corrupt headers


def is_data_section(name: str) -> bool:
    return (name in (".data", ".rodata", ".bss") or name.startswith((".data.", ".rodata.",
                                                                       ".bss.")))


@dataclass(slots=True)
class VarInfo:
    name: str
    offset: int
    size: int
    type_id: int  # BTF type of the variable (0 when unknown)


def section_vars(elf: ElfFile, sec: Section, btf: Btf | None) -> dict[str, VarInfo]:
    """Variables of a data section: offsets from the ELF symbols, types from its DATASEC."""
    types: dict[str, int] = {}
    if btf is not None:
        for dsid in btf.find_all(sec.name, Kind.DATASEC):
            for vs in btf[dsid].vars:  # type: ignore[attr-defined]
                v = btf[vs.type]
                if v.kind == Kind.VAR:
                    types[v.name] = v.type  # type: ignore[attr-defined]
    out: dict[str, VarInfo] = {}
    for s in elf.symbols:
        if s.shndx == sec.index and s.type == 1 and s.name:  # STT_OBJECT
            out[s.name] = VarInfo(s.name, s.value, s.size, types.get(s.name, 0))
    return out


def data_map(sec: Section, btf: Btf | None) -> MapSpec:
    """The array map holding a data section (one entry: the whole section)."""
    ro = sec.name.startswith(".rodata")
    if sec.size > MAX_DATA:
        raise BadInput(f"section {sec.name}: {sec.size} bytes of global data is more than a "
                       f"map value can hold ({MAX_DATA})")
    data = bytes(sec.size) if sec.type == SHT_NOBITS else sec.data
    flags = BPF_F_MMAPABLE | (BPF_F_RDONLY_PROG if ro else 0)
    ms = MapSpec(sec.name, MapType.ARRAY, 4, max(sec.size, 1), 1, flags,
                 contents=[(bytes(4), data.ljust(max(sec.size, 1), b"\0"))], freeze=ro)
    if btf is not None:
        ids = btf.find_all(sec.name, Kind.DATASEC)
        if ids:
            ms.btf_value_type_id = ids[0]
    return ms


class DataView:
    """A data section's variables by name: ``view["targ_pid"] = 1234``.

    Before load it edits the MapSpec's initial contents; after ``attach_map`` it reads and
    writes the live map (a frozen .rodata map can only be read).
    """

    def __init__(self, name: str, vars: dict[str, VarInfo], btf: Btf | None,
                 spec: MapSpec) -> None:
        self.name = name
        self.vars = vars
        self.btf = btf
        self.spec = spec
        self.live: Any = None

    def _raw(self) -> bytes:
        if self.live is not None:
            v = self.live.lookup_raw(bytes(4))
            return bytes(v) if v is not None else bytes(self.spec.value_size)
        return self.spec.contents[0][1]

    def _write(self, data: bytes) -> None:
        if self.live is not None:
            if self.spec.freeze:
                raise PybpfError(f"{self.name} is frozen after load (read-only); set its "
                                 "variables before load")
            self.live.update_raw(bytes(4), data)
        else:
            self.spec.contents = [(bytes(4), data)]

    def _var(self, name: str) -> VarInfo:
        return named(self.vars, name, "variable", self.name)

    def __getitem__(self, name: str) -> Any:
        v = self._var(name)
        raw = self._raw()[v.offset:v.offset + v.size]
        return decode_value(self.btf, v.type_id, raw)

    def __setitem__(self, name: str, value: Any) -> None:
        v = self._var(name)
        enc = encode_value(self.btf, v.type_id, v.size, value, f"{self.name}.{name}")
        data = bytearray(self._raw())
        data[v.offset:v.offset + v.size] = enc
        self._write(bytes(data))

    def __contains__(self, name: object) -> bool:
        return name in self.vars

    def keys(self) -> list[str]:
        return sorted(self.vars, key=lambda n: self.vars[n].offset)

    def items(self) -> list[tuple[str, Any]]:
        return [(n, self[n]) for n in self.keys()]

    def __repr__(self) -> str:
        return f"<DataView {self.name} {dict(self.items())!r}>"


def _scalar(btf: Btf | None, tid: int) -> tuple[bool, bool]:
    """(is_integer, signed) of a variable's type."""
    if btf is None or not tid:
        return True, False
    t = btf[btf.resolve(tid)]
    if t.kind in (Kind.INT, Kind.ENUM, Kind.ENUM64):
        return True, bool(t.signed)  # type: ignore[attr-defined]
    return t.kind == Kind.PTR, False


def _char_array(btf: Btf | None, tid: int) -> bool:
    if btf is None or not tid:
        return False
    t = btf[btf.resolve(tid)]
    if t.kind != Kind.ARRAY:
        return False
    e = btf[btf.resolve(t.type)]  # type: ignore[attr-defined]
    return e.kind == Kind.INT and e.size == 1  # type: ignore[attr-defined]


def decode_value(btf: Btf | None, tid: int, raw: bytes) -> Any:
    if _char_array(btf, tid):
        return raw.split(b"\0", 1)[0].decode(errors="replace")
    is_int, signed = _scalar(btf, tid)
    if is_int and len(raw) in (1, 2, 4, 8):
        return int.from_bytes(raw, "little", signed=signed)
    if btf is not None and tid:
        from .codec import btf_codec

        c = btf_codec(btf, tid)
        if c is not None:
            return c.decode(raw)
    return raw


def encode_value(btf: Btf | None, tid: int, size: int, value: Any, what: str) -> bytes:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        _, signed = _scalar(btf, tid)
        try:
            return value.to_bytes(size, "little", signed=signed or value < 0)
        except OverflowError:
            raise PybpfError(f"{what}: {value} does not fit in {size} bytes") from None
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes | bytearray):
        if len(value) > size:
            raise PybpfError(f"{what}: {len(value)} bytes do not fit in {size}")
        return bytes(value).ljust(size, b"\0")
    raise PybpfError(f"{what}: cannot store a {type(value).__name__}; give an int, str or bytes")


# -- externs ------------------------------------------------------------------------------
KCONFIG, KSYM_VAR, KSYM_ADDR, KFUNC = "kconfig", "ksym", "ksym_addr", "kfunc"


@dataclass(slots=True)
class Extern:
    name: str
    kind: str
    offset: int = 0  # .kconfig: byte offset in the map
    size: int = 0
    type_id: int = 0  # object BTF type
    weak: bool = False
    value: int = 0  # kernel btf id (ksym/kfunc) or address (typeless ksym)
    found: bool = True


@dataclass(slots=True)
class Externs:
    by_name: dict[str, Extern] = field(default_factory=dict)
    kconfig_size: int = 0


def collect_externs(elf: ElfFile, btf: Btf | None) -> Externs:
    """Undefined symbols described by the .kconfig/.ksyms DATASECs, laid out like libbpf."""
    ex = Externs()
    weak = {s.name: s.bind == STB_WEAK for s in elf.symbols if s.shndx == 0 and s.name}
    if btf is None:
        if weak:
            raise BadInput(f"{elf.path}: extern symbols ({', '.join(sorted(weak))}) need the "
                           "object's BTF; build with -g")
        return ex
    kcfg: list[tuple[int, int, str, int]] = []  # (-align, size, name, type)
    for dsid in btf.find_all(".kconfig", Kind.DATASEC):
        for vs in btf[dsid].vars:  # type: ignore[attr-defined]
            v = btf[vs.type]
            if v.kind != Kind.VAR:
                raise BadInput(f"{elf.path}: .kconfig lists type {vs.type}, not a variable")
            kcfg.append((-max(btf.align(v.type), 1), btf.size(v.type),  # type: ignore[attr-defined]
                         v.name, v.type))  # type: ignore[attr-defined]
    # libbpf's order (cmp_externs): larger alignment first, then smaller size, then name
    off = 0
    for neg_align, size, name, tid in sorted(kcfg):
        off = (off - neg_align - 1) // -neg_align * -neg_align
        ex.by_name[name] = Extern(name, KCONFIG, off, size, tid, weak.get(name, False))
        off += size
    ex.kconfig_size = off
    for dsid in btf.find_all(".ksyms", Kind.DATASEC):
        for vs in btf[dsid].vars:  # type: ignore[attr-defined]
            v = btf[vs.type]
            if v.kind not in (Kind.FUNC, Kind.VAR):
                raise BadInput(f"{elf.path}: .ksyms lists type {vs.type}, not a variable "
                               "or function")
            if v.kind == Kind.FUNC:
                kind = KFUNC
            else:
                kind = KSYM_ADDR if btf.resolve(v.type) == 0 else KSYM_VAR  # type: ignore[attr-defined]
            ex.by_name[v.name] = Extern(v.name, kind, type_id=v.type,  # type: ignore[attr-defined]
                                        weak=weak.get(v.name, False))
    for name in weak:
        if name not in ex.by_name:
            raise BadInput(f"{elf.path}: extern {name!r} is neither __kconfig nor __ksym; "
                           "pybpf cannot resolve it")
    return ex


def resolve_ksyms(ex: Externs, path: str) -> None:
    """Kernel BTF ids for typed ksyms and kfuncs, /proc/kallsyms addresses for typeless ones."""
    need_addr = [e for e in ex.by_name.values() if e.kind == KSYM_ADDR]
    btf_needed = [e for e in ex.by_name.values() if e.kind in (KSYM_VAR, KFUNC)]
    if btf_needed:
        from ..btf import BtfNotFound, vmlinux

        vm = vmlinux()
        for e in btf_needed:
            try:
                e.value = vm.find(e.name, Kind.FUNC if e.kind == KFUNC else Kind.VAR)
            except BtfNotFound:
                e.found = False
                if not e.weak:
                    raise PybpfError(f"{path}: extern {e.name!r} (__ksym) is not in the "
                                     "kernel's BTF; declare it __weak to make it "
                                     "optional") from None
    if need_addr:
        addrs = kallsyms({e.name for e in need_addr})
        for e in need_addr:
            if e.name in addrs:
                e.value = addrs[e.name]
            else:
                e.found = False
                if not e.weak:
                    raise PybpfError(f"{path}: extern {e.name!r} (__ksym) is not in "
                                     "/proc/kallsyms; declare it __weak to make it optional")


def kallsyms(names: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] in names and parts[2] not in out:
                    out[parts[2]] = int(parts[0], 16)
    except OSError:
        pass
    return out


def kernel_version() -> int:
    """LINUX_KERNEL_VERSION as libbpf computes it: KERNEL_VERSION(a, b, min(c, 255))."""
    import re

    rel = os.uname().release
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", rel)
    if not m:
        return 0
    a, b, c = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return (a << 16) + (b << 8) + min(c, 255)


def kernel_config() -> dict[str, str]:
    """CONFIG_* values from /proc/config.gz or /boot/config-$(uname -r) ({} if neither)."""
    import gzip

    text = ""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        try:
            with open(f"/boot/config-{os.uname().release}") as f:
                text = f.read()
        except OSError:
            return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, _, v = line.partition("=")
            out[k] = v
    return out


def kconfig_bytes(ex: Externs, btf: Btf, path: str,
                  config: dict[str, str] | None = None) -> bytes:
    """The .kconfig map value: every __kconfig extern filled in (weak missing ones are 0)."""
    buf = bytearray(max(ex.kconfig_size, 1))
    cfg: dict[str, str] | None = config
    for e in ex.by_name.values():
        if e.kind != KCONFIG:
            continue
        what = f"{path}: __kconfig extern {e.name!r}"
        if e.name == "LINUX_KERNEL_VERSION":
            val: Any = kernel_version()
        elif e.name in ("LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER"):
            val = 1
        elif e.name.startswith("CONFIG_"):
            if cfg is None:
                cfg = kernel_config()
            raw = cfg.get(e.name)
            if raw is None:
                if not e.weak and cfg:
                    raise PybpfError(f"{what}: not set in the kernel config; declare it "
                                     "__weak to make it optional")
                if not cfg and not e.weak:
                    raise PybpfError(f"{what}: no kernel config found (/proc/config.gz or "
                                     f"/boot/config-{os.uname().release}); declare it __weak")
                continue
            val = _config_value(raw, btf, e, what)
        else:
            if e.weak:
                continue
            raise PybpfError(f"{what}: unknown; only LINUX_* and CONFIG_* are supported")
        buf[e.offset:e.offset + e.size] = encode_value(btf, e.type_id, e.size, val, what)
    return bytes(buf)


def _config_value(raw: str, btf: Btf, e: Extern, what: str) -> Any:
    if _char_array(btf, e.type_id):
        if not raw.startswith('"'):
            raise PybpfError(f"{what}: a char array needs a string option, got {raw}")
        return raw.strip('"').encode()[:e.size - 1]
    if raw in ("y", "m", "n"):
        return {"y": 1, "m": 2, "n": 0}[raw]
    try:
        return int(raw, 0)
    except ValueError:
        raise PybpfError(f"{what}: value {raw} is not a number") from None
