"""struct_ops maps: ``SEC(".struct_ops")`` / ``SEC(".struct_ops.link")`` variables.

A variable such as ``struct tcp_congestion_ops my_ca = {.init = (void *)my_init, ...}``
in one of those sections becomes a BPF_MAP_TYPE_STRUCT_OPS map (as libbpf does it):

- parse (no privileges): each variable of the section's DATASEC -> a MapSpec named after
  the variable (key 4 bytes, value = the kernel's ``struct bpf_struct_ops_<type>``, one
  entry, BPF_F_LINK for ``.struct_ops.link``); the ELF relocations of the section tie
  function-pointer members to programs, which get ``attach_btf_id`` = the kernel struct's
  id and ``expected_attach_type`` = the member's index in it (how the kernel knows which
  callback a program implements). The value is laid out now, from the *kernel's* type:
  members are matched by name, scalars and char arrays copied, func pointers recorded;
- load (after the programs): create the map with ``btf_vmlinux_value_type_id``;
- attach (as libbpf's bpf_map__attach_struct_ops): write each callback's program fd into
  its slot, ``map_update_elem(0, value)``. For ``.struct_ops`` that update registers the
  ops (the returned link's close, or closing the map, deletes the element again, which
  unregisters them); for ``.struct_ops.link`` it readies them and ``BPF_LINK_CREATE`` on
  the map fd registers them until the link closes.
"""

from __future__ import annotations

import struct
import weakref

from .._record import dataclass, field
from ..btf import Btf, BtfNotFound, Kind, essential_name
from ..errors import BadInput, PybpfError
from ..kernel.links.base import Link
from ..kernel.maps import KernelMap
from ..kernel.syscall import close_fd
from ..spec import MapSpec
from ..uapi import MapType, ProgType
from .reader import STB_LOCAL, STT_FUNC, STT_SECTION, ElfFile, Section

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

SECTIONS = (".struct_ops", ".struct_ops.link")
VALUE_PREFIX = "bpf_struct_ops_"
BPF_F_LINK = 1 << 13  # map flag: registered through a bpf link, not by the update
_U64 = struct.Struct("<Q")


def is_struct_ops_section(name: str) -> bool:
    """``.struct_ops``, ``.struct_ops.link`` (and libbpf's ``?``-prefixed forms)."""
    return name.removeprefix("?") in SECTIONS


@dataclass(slots=True)
class StructOpsVar:
    """One struct_ops variable: its map, the kernel type, the value to write at load."""

    name: str  # the variable, and the map
    section: str
    link: bool  # .struct_ops.link: registered by attach() (a bpf link)
    type_name: str  # kernel struct, e.g. "tcp_congestion_ops"
    kern_type_id: int  # the struct in vmlinux BTF (programs' attach_btf_id)
    value_type_id: int  # struct bpf_struct_ops_<type> (the map's btf_vmlinux_value_type_id)
    value: bytes  # the map value with every func pointer slot still 0
    func_slots: dict[int, str] = field(default_factory=dict)  # value offset -> program
    members: dict[str, int] = field(default_factory=dict)  # program -> kernel member index
    autocreate: bool = True  # False for libbpf's SEC("?.struct_ops")

    def value_with(self, prog_fds: Mapping[str, int]) -> bytes:
        """The map value with each callback's slot holding its program fd."""
        buf = bytearray(self.value)
        for off, prog in self.func_slots.items():
            _U64.pack_into(buf, off, prog_fds[prog])
        return bytes(buf)


# -- parse --------------------------------------------------------------------------
def collect_struct_ops(elf: ElfFile, btf: Btf | None, spec: Any,
                       kern_btf: Btf | None = None) -> None:
    """Add a MapSpec to ``spec.maps`` and a ``StructOpsVar`` to ``spec.struct_ops`` for
    every struct_ops variable of the object, and set up the programs they point at.
    ``kern_btf`` overrides the kernel's BTF (tests); struct_ops programs no variable uses
    are not loaded (they could not be: the member fixes their attach point)."""
    path = elf.path
    users: dict[str, tuple[str, str, int, int]] = {}  # prog -> (var, member, type id, idx)
    for sec in elf.sections:
        if not is_struct_ops_section(sec.name):
            continue
        if btf is None:
            raise BadInput(f"{path}: section {sec.name}: struct_ops need the object's BTF; "
                           "build with clang -g")
        for var in _section_vars(elf, sec, btf, kern_btf, spec):
            if var.name in spec.maps:
                raise BadInput(f"{path}: struct_ops variable {var.name!r} has the name of "
                               "another map; rename it")
            for prog, idx in var.members.items():
                member = _member_name(kern_btf, var.kern_type_id, idx)
                seen = users.setdefault(prog, (var.name, member, var.kern_type_id, idx))
                if seen[2:] != (var.kern_type_id, idx):
                    raise BadInput(
                        f"{path}: struct_ops {var.name}: program {prog!r} is member "
                        f"{member!r} here but {seen[1]!r} in {seen[0]}; a program can back "
                        "one member of one kernel struct only, write a second program")
            spec.maps[var.name] = MapSpec(var.name, MapType.STRUCT_OPS, 4,
                                          len(var.value), 1, BPF_F_LINK if var.link else 0)
            spec.struct_ops[var.name] = var
    for name, ps in spec.programs.items():
        if ps.type != ProgType.STRUCT_OPS:
            continue
        use = users.get(name)
        if use is None:
            ps.autoload = False
            continue
        ps.attach_type = use[3]  # type: ignore[assignment]  # the kernel member index
        # as libbpf: loaded if a map that is created uses it (SEC("?.struct_ops") is not)
        ps.autoload = any(v.autocreate for v in spec.struct_ops.values() if name in v.members)


def struct_ops_btf_ids(spec: Any) -> dict[str, int]:
    """program -> the kernel struct it implements (its ``attach_btf_id`` at load)."""
    return {p: v.kern_type_id for v in spec.struct_ops.values() for p in v.members}


def _section_vars(elf: ElfFile, sec: Section, btf: Btf, kern_btf: Btf | None,
                  spec: Any) -> list[StructOpsVar]:
    path = elf.path
    name = sec.name.removeprefix("?")
    where = f"{path}: section {sec.name}"
    ds = btf.find_all(sec.name, Kind.DATASEC)
    if not ds:
        raise BadInput(f"{where}: no DATASEC {sec.name} in the object's BTF")
    # clang may leave the DATASEC offsets 0: the ELF symbols place the variables
    syms = {s.name: s.value for s in elf.symbols
            if s.shndx == sec.index and s.type != STT_SECTION and s.name}
    out: list[StructOpsVar] = []
    spans: list[tuple[int, int, StructOpsVar, int]] = []  # start, end, var, obj type id
    for vs in btf[ds[0]].vars:  # type: ignore[attr-defined]
        v = btf[vs.type]
        if v.kind != Kind.VAR:
            continue
        tid = btf.resolve(v.type)  # type: ignore[attr-defined]
        t = btf[tid]
        if t.kind != Kind.STRUCT:
            raise BadInput(f"{where}: struct_ops variable {v.name!r} is a "
                           f"{btf.type_name(tid)}, not a struct")
        if not t.name:
            raise BadInput(f"{where}: struct_ops variable {v.name!r} has an anonymous "
                           "struct type; name the kernel struct (e.g. tcp_congestion_ops)")
        off = syms.get(v.name, vs.offset)
        size = t.size  # type: ignore[attr-defined]
        if off + size > len(sec.data):
            raise BadInput(f"{where}: struct_ops variable {v.name!r} ({size} bytes at "
                           f"{off}) lies outside the section ({len(sec.data)} bytes)")
        var = StructOpsVar(v.name, name, name.endswith(".link"), essential_name(t.name),
                           0, 0, b"", autocreate=not sec.name.startswith("?"))
        spans.append((off, off + size, var, tid))
        out.append(var)
    progs = _relocated_progs(elf, sec, btf, spans, spec)
    for off, end, var, tid in spans:
        _layout(var, btf, tid, sec.data[off:end], progs.get(var.name, {}), kern_btf, path)
    return out


def _relocated_progs(elf: ElfFile, sec: Section, btf: Btf,
                     spans: list[tuple[int, int, StructOpsVar, int]],
                     spec: Any) -> dict[str, dict[str, str]]:
    """var -> {object member name -> program} from the section's relocations."""
    where = f"{elf.path}: section {sec.name}"
    out: dict[str, dict[str, str]] = {}
    for r in elf.relocs.get(sec.index, []):
        span = next((s for s in spans if s[0] <= r.offset < s[1]), None)
        if span is None:
            raise BadInput(f"{where}: relocation at {r.offset:#x} is outside every "
                           "struct_ops variable")
        start, _end, var, tid = span
        moff = r.offset - start
        m = next((m for m in btf[tid].members  # type: ignore[attr-defined]
                  if m.bit_offset == moff * 8), None)
        if m is None:
            raise BadInput(f"{where}: struct_ops {var.name}: no member starts at byte "
                           f"{moff} (relocation at {r.offset:#x})")
        if not _is_func_ptr(btf, m.type):
            raise BadInput(f"{where}: struct_ops {var.name}: member {m.name!r} is not a "
                           "function pointer, but it is set to a symbol")
        sym = elf.symbols[r.sym]
        target = _func_symbol(elf, sym, sec, r.offset)
        if target is None:
            raise BadInput(f"{where}: struct_ops {var.name}: member {m.name!r} is set to "
                           f"{sym.name or 'a symbol'!r}, which is not a program; point it "
                           'at a function in SEC("struct_ops/...")')
        code = elf.sections[target.shndx].name
        ps = spec.programs.get(target.name)
        if ps is None:
            raise BadInput(f"{where}: struct_ops {var.name}: member {m.name!r} points at "
                           f"{target.name!r} in {code}, which is not a program (a static or "
                           '.text function); make it a global function in SEC("struct_ops/'
                           '...")')
        if ps.type != ProgType.STRUCT_OPS:
            raise BadInput(f"{where}: struct_ops {var.name}: member {m.name!r} points at "
                           f"program {target.name!r} in section {code}, which is not a "
                           'struct_ops program; put it in SEC("struct_ops/...")')
        out.setdefault(var.name, {})[m.name] = target.name
    return out


def _func_symbol(elf: ElfFile, sym: Any, sec: Section, r_offset: int) -> Any:
    """The global FUNC symbol a relocation names (directly, or as section + addend)."""
    if sym.type == STT_FUNC:
        return sym if sym.bind != STB_LOCAL else None
    if sym.type == STT_SECTION and 0 < sym.shndx < len(elf.sections):
        addend = _U64.unpack_from(sec.data, r_offset)[0] if r_offset + 8 <= len(sec.data) \
            else 0
        return next((s for s in elf.symbols if s.shndx == sym.shndx and s.type == STT_FUNC
                     and s.value == addend and s.bind != STB_LOCAL), None)
    return None


def _is_func_ptr(btf: Btf, tid: int) -> bool:
    t = btf[btf.resolve(tid)]
    return t.kind == Kind.PTR and btf[btf.resolve(t.type)].kind == Kind.FUNC_PROTO  # type: ignore[attr-defined]


def _kernel_types(var: StructOpsVar, kern_btf: Btf | None, path: str) -> tuple[Btf, int, int,
                                                                                 int]:
    """(kernel BTF, struct id, bpf_struct_ops_<type> id, byte offset of its data member)."""
    tname = var.type_name
    try:
        if kern_btf is None:
            from ..btf import find_kernel_type, vmlinux

            kb, kid = find_kernel_type(tname, Kind.STRUCT)
            if kb is not vmlinux():
                raise PybpfError(f"{path}: struct_ops {var.name}: struct {tname} comes from "
                                 "a kernel module; pybpf loads struct_ops of vmlinux only")
        else:
            kb, kid = kern_btf, kern_btf.find(tname, Kind.STRUCT)
        vid = kb.find(VALUE_PREFIX + tname, Kind.STRUCT)
    except BtfNotFound:
        raise PybpfError(f"{path}: struct_ops {var.name}: the kernel has no struct_ops type "
                         f"struct {tname} (no struct {VALUE_PREFIX}{tname} in its BTF); "
                         "check the type name, or load the module that defines it") from None
    data = next((m for m in kb[vid].members  # type: ignore[attr-defined]
                 if kb.resolve(m.type) == kid), None)
    if data is None:
        raise PybpfError(f"{path}: struct_ops {var.name}: struct {VALUE_PREFIX}{tname} has "
                         f"no member of type struct {tname}")
    return kb, kid, vid, data.bit_offset // 8


def _layout(var: StructOpsVar, btf: Btf, tid: int, data: bytes, progs: Mapping[str, str],
            kern_btf: Btf | None, path: str) -> None:
    """Fill ``var``'s kernel ids and value from the object's bytes, member by member."""
    kb, kid, vid, base = _kernel_types(var, kern_btf, path)
    var.kern_type_id, var.value_type_id = kid, vid
    value = bytearray(kb.size(vid))
    kmembers = {m.name: (i, m) for i, m in enumerate(kb[kid].members)}  # type: ignore[attr-defined]
    where = f"{path}: struct_ops {var.name}"
    for m in btf[tid].members:  # type: ignore[attr-defined]
        moff = m.bit_offset // 8
        msize = btf.size(m.type)
        mdata = data[moff:moff + msize]
        prog = progs.get(m.name)
        found = kmembers.get(m.name)
        if found is None:
            if prog is not None or any(mdata):
                raise BadInput(f"{where}: member {m.name!r} is set, but the kernel's struct "
                               f"{var.type_name} has no such member; leave it unset (zero) "
                               "or drop it")
            continue  # zero and unknown to this kernel: skipped, as libbpf does
        idx, km = found
        if m.bitfield_size or km.bitfield_size:
            raise BadInput(f"{where}: member {m.name!r} is a bitfield; struct_ops bitfields "
                           "are not supported")
        mt, kt = btf[btf.resolve(m.type)], kb[kb.resolve(km.type)]
        if mt.kind != kt.kind:
            raise BadInput(f"{where}: member {m.name!r} is {btf.type_name(m.type)} here but "
                           f"{kb.type_name(km.type)} in the kernel")
        koff = base + km.bit_offset // 8
        if mt.kind == Kind.PTR:
            if prog is None:
                if any(mdata):
                    raise BadInput(f"{where}: member {m.name!r} holds a pointer that is not "
                                   "a program")
                continue
            if not _is_func_ptr(kb, km.type):
                raise BadInput(f"{where}: member {m.name!r} is not a function pointer in the "
                               f"kernel's struct {var.type_name}")
            if var.members.setdefault(prog, idx) != idx:
                other = kb[kid].members[var.members[prog]].name  # type: ignore[attr-defined]
                raise BadInput(f"{where}: program {prog!r} is set for members {other!r} and "
                               f"{m.name!r}; a program can back one member of one kernel "
                               "struct only, write a second program")
            var.func_slots[koff] = prog
            continue
        ksize = kb.size(km.type)
        if msize != ksize:
            raise BadInput(f"{where}: member {m.name!r} is {msize} bytes here but {ksize} in "
                           f"the kernel's struct {var.type_name}; declare it as the kernel "
                           f"does ({kb.decl(km.type, m.name)})")
        value[koff:koff + msize] = mdata
    var.value = bytes(value)


def _member_name(kern_btf: Btf | None, kid: int, idx: int) -> str:
    from ..btf import vmlinux

    kb = kern_btf or vmlinux()
    return str(kb[kid].members[idx].name)  # type: ignore[attr-defined]


# -- load ---------------------------------------------------------------------------
def load_struct_ops(spec: Any, progs: Mapping[str, Any], btf_fd: int) -> dict[str, Any]:
    """Create every struct_ops map (all or nothing). As libbpf, nothing registers yet:
    ``attach()`` writes the value (registering ``.struct_ops`` maps; a bpf link registers
    ``.struct_ops.link`` ones)."""
    out: dict[str, Any] = {}
    try:
        for name, var in spec.struct_ops.items():
            if not var.autocreate:
                continue
            missing = sorted({p for p in var.func_slots.values() if p not in progs})
            if missing:
                raise PybpfError(f"struct_ops {name}: program(s) {', '.join(missing)} are "
                                 "not loaded (autoload is off); switch it on or unset the "
                                 "member")
            m = StructOpsMap.create(spec.maps[name], var, btf_fd)
            m.prog_fds = {p: int(progs[p].fd) for p in set(var.func_slots.values())}
            out[name] = m
    except BaseException:
        for m in out.values():
            m.close()
        raise
    return out


def attach_struct_ops(coll: Any) -> list[Any]:
    """Attach (register) every struct_ops map of ``coll`` not attached yet."""
    out = []
    for name in coll.spec.struct_ops:
        m = coll.maps.get(name)
        if isinstance(m, StructOpsMap) and not m.attached:
            out.append(m.attach())
    return out


class StructOpsMap(KernelMap):
    """A live struct_ops map; ``attach()`` registers it with the kernel, as libbpf's
    bpf_map__attach_struct_ops: for ``.struct_ops`` by writing the value (the returned
    link's ``close()`` deletes it again, unregistering), for ``.struct_ops.link`` by a
    bpf link on the map (written once). Closing the map unregisters it too (a registered
    map keeps itself alive in the kernel, so closing the fd alone would not)."""

    var: StructOpsVar
    links: list[Any]
    prog_fds: dict[str, int]
    _written: bool  # the value is in the kernel (a link map takes it once)
    _state: list[bool]  # [registered by the update]; shared with the finalizer

    @classmethod
    def create(cls, ms: MapSpec, var: StructOpsVar, btf_fd: int) -> StructOpsMap:  # type: ignore[override]
        """BPF_MAP_CREATE with the kernel value type (the object's BTF fd must be valid)."""
        from ..kernel.errors import error_for
        from ..kernel.syscall import MapCreateAttr, bpf_raw, obj_name
        from ..uapi import Cmd

        if btf_fd < 0:
            raise PybpfError(f"struct_ops {var.name}: the object's BTF did not load; "
                             "struct_ops maps need it")
        attr = MapCreateAttr(map_type=int(MapType.STRUCT_OPS), key_size=4,
                             value_size=len(var.value), max_entries=1, map_flags=ms.flags,
                             map_name=obj_name(var.name), btf_fd=btf_fd,
                             btf_vmlinux_value_type_id=var.value_type_id)
        fd, err = bpf_raw(Cmd.MAP_CREATE, attr)
        if err:
            raise error_for(Cmd.MAP_CREATE, err, f"struct_ops map {var.name!r} "
                            f"(struct {var.type_name})")
        m = cls(fd, name=var.name, type=MapType.STRUCT_OPS, key_size=4,
                value_size=len(var.value), max_entries=1, flags=ms.flags, spec=ms)
        m.var, m.links, m.prog_fds, m._state = var, [], {}, [False]
        m._written = False
        m._finalizer.detach()
        fin: Any = weakref.finalize(m, _release, fd, m._state)
        m._finalizer = fin
        return m

    @property
    def attached(self) -> bool:
        """Registered now: by the update (``.struct_ops``) or by an open link."""
        return self._state[0] or any(not link.closed for link in self.links)

    def _write(self) -> None:
        """The update: program fds in the func slots (the kernel keeps their ids)."""
        import errno

        from ..kernel.errors import BpfError

        try:
            self.update_raw(bytes(4), self.var.value_with(self.prog_fds))
        except BpfError as e:
            v = self.var
            why = {errno.EEXIST: f"a {v.type_name} of the same name is registered already; "
                                 "change its .name",
                   errno.EINVAL: "the kernel refused the value: a callback it requires may "
                                 "be unset, or a member it fills itself is not 0",
                   errno.EBUSY: "a .struct_ops map registers once; load the object again, "
                                "or put it in SEC(\".struct_ops.link\") to attach it again",
                   }.get(e.errno or 0, str(e))
            raise PybpfError(f"registering struct_ops {v.name} (struct {v.type_name}): "
                             f"{why}") from None
        self._written = True

    def attach(self) -> Any:
        """Register the ops; they stay registered until the returned link closes."""
        from ..kernel.links.base import bpf_call
        from ..kernel.syscall import LinkCreateAttr
        from ..uapi import AttachType, Cmd

        what = f"{self.var.type_name} {self.var.name}"
        if not self.var.link:
            if self._state[0]:
                raise PybpfError(f"struct_ops {self.var.name} is registered already; close "
                                 "its link first (or use SEC(\".struct_ops.link\") for links)")
            self._write()
            self._state[0] = True
            link = StructOpsLink(what, on_close=self._unregister)
        else:
            if not self._written:  # a link map's value is written once (then EBUSY)
                self._write()
            attr = LinkCreateAttr(prog_fd=self._checked_fd(),  # union with map_fd
                                  attach_type=int(AttachType.STRUCT_OPS))
            fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach struct_ops {self.var.name}")
            link = StructOpsLink(what, link_fd=fd)
        self.links.append(link)
        return link

    def _unregister(self) -> None:
        if self._state[0] and self.fd >= 0:
            self.delete_raw(bytes(4))
            self._state[0] = False

    def close(self) -> None:
        for link in getattr(self, "links", []):
            link.close()
        super().close()


def _release(fd: int, state: list[bool]) -> None:
    """Unregister a ``.struct_ops`` map (delete its element) before its fd closes."""
    if state[0]:
        import ctypes

        from ..kernel.syscall import MapElemAttr, addr_of, bpf_raw
        from ..uapi import Cmd

        key = ctypes.create_string_buffer(4)
        bpf_raw(Cmd.MAP_DELETE_ELEM, MapElemAttr(map_fd=fd, key=addr_of(key)))
        state[0] = False
    close_fd(fd)


class StructOpsLink(Link):
    """The bpf link that keeps a ``.struct_ops.link`` map registered."""

    kind = "struct_ops"
