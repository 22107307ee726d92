"""Link one program: apply ELF relocations and pull in BPF-to-BPF callees.

Map and global-data ``lddw`` relocations become ``ProgramSpec.map_refs`` (the backend
writes the fd / value address); ``.kconfig`` externs read the ``.kconfig`` map; ``.ksyms``
externs become BTF-id or address loads and kfunc calls. Each called subprogram (from
``.text`` or the program's own section) is appended once, after the program, like
libbpf does, and its calls, relocations, func_info and line_info move with it.
"""

from __future__ import annotations

import struct

from .._record import dataclass, field
from ..asm.insn import Insn, decode
from ..asm.opcodes import PseudoSrc
from ..errors import BadInput
from ..spec import MapRef, SourceLoc
from .globals import KCONFIG, KFUNC, KSYM_ADDR, KSYM_VAR, Externs
from .reader import STT_FUNC, STT_SECTION, ElfFile, Symbol

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable

_SLOT = struct.Struct("<BBhi")
CALL, LDDW = 0x85, 0x18


@dataclass(slots=True)
class CodeSection:
    """One executable section after CO-RE: its bytes, functions, and what to carry along."""

    index: int
    name: str
    code: bytearray
    funcs: dict[int, Symbol]  # start insn -> FUNC symbol
    relocs: dict[int, int]  # insn -> symbol index
    func_info: list[tuple[int, int]] = field(default_factory=list)  # (insn, type_id)
    line_info: list[tuple[int, int, int, int]] = field(default_factory=list)  # raw records
    lines: dict[int, SourceLoc] = field(default_factory=dict)
    poisoned: dict[int, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.code) // 8


@dataclass(slots=True)
class Linked:
    insns: list[Insn]
    map_refs: list[MapRef]
    func_info: list[tuple[int, int]]
    line_info: list[tuple[int, int, int, int]]
    source_map: dict[int, SourceLoc]
    poisoned: dict[int, str]


@dataclass(slots=True)
class Binder:
    """Knows what a relocation's symbol is: a map, a data section, an extern."""

    elf: ElfFile
    map_sections: dict[int, str]  # shndx -> "btf" | "legacy"
    data_sections: dict[int, str]  # shndx -> map name
    externs: Externs
    code: dict[int, CodeSection]


def func_size(cs: CodeSection, start: int) -> int:
    """Instructions in the function at ``start`` (its symbol size, else up to the next)."""
    sym = cs.funcs.get(start)
    if sym is not None and sym.size:
        n = sym.size // 8
    else:
        later = [s for s in cs.funcs if s > start]
        n = (min(later) if later else cs.n) - start
    if start < 0 or n <= 0 or start + n > cs.n:
        raise BadInput(f"section {cs.name}: function at instruction {start} ({n} instructions) "
                       f"lies outside the section ({cs.n} instructions)")
    return n


def link_program(b: Binder, sec: CodeSection, start: int, size: int, name: str) -> Linked:
    """The program at ``sec[start:start+size]`` with its callees, ready for a ProgramSpec."""
    path = b.elf.path
    units: list[tuple[CodeSection, int, int, int]] = [(sec, start, size, 0)]
    placed: dict[tuple[int, int], int] = {(sec.index, start): 0}
    total = size
    out = bytearray()
    refs: list[MapRef] = []
    finfo: list[tuple[int, int]] = []
    linfo: list[tuple[int, int, int, int]] = []
    smap: dict[int, SourceLoc] = {}
    poisoned: dict[int, str] = {}

    def place(cs: CodeSection, at: int, where: str) -> int:
        nonlocal total
        key = (cs.index, at)
        if key not in placed:
            if not 0 <= at < cs.n or (at not in cs.funcs and at != 0):
                raise BadInput(f"{where}: call target {at} in {cs.name} is not the start of "
                               "a function")
            n = func_size(cs, at)
            placed[key] = total
            units.append((cs, at, n, total))
            total += n
        return placed[key]

    u = 0
    while u < len(units):
        cs, ustart, n, base = units[u]
        u += 1
        code = bytearray(cs.code[ustart * 8:(ustart + n) * 8])
        reloc_at = cs.relocs.get
        # (iter_unpack reads the buffer as it goes, so it sees slots patched behind it)
        for i, (op, regs, off, imm) in enumerate(_SLOT.iter_unpack(code)):
            src_i = ustart + i
            sym_idx = reloc_at(src_i)
            if sym_idx is None and op != CALL and op != LDDW:
                continue  # the common case: nothing to bind
            where = f"{path}: section {cs.name}: instruction {src_i}"
            if sym_idx is not None:
                sym = b.elf.symbols[sym_idx]
                _bind(b, cs, code, i, base + i, sym, refs, where, place, op, regs, imm)
            elif op == CALL and regs >> 4 == 1:  # call to a local function, no relocation
                tgt = place(cs, src_i + imm + 1, where)
                _SLOT.pack_into(code, i * 8, op, regs, off, tgt - (base + i + 1))
            elif op == LDDW and regs >> 4 == PseudoSrc.FUNC:
                tgt = place(cs, src_i + imm + 1, where)
                _SLOT.pack_into(code, i * 8, op, regs, off, tgt - (base + i + 1))
        out += code
        if ustart == 0 and base == 0 and n == cs.n:  # the whole section, in place: copy
            finfo.extend(cs.func_info)
            linfo.extend(cs.line_info)
            smap.update(cs.lines)
            poisoned.update(cs.poisoned)
            continue
        for fi, tid in cs.func_info:
            if ustart <= fi < ustart + n:
                finfo.append((base + fi - ustart, tid))
        for rec in cs.line_info:
            if ustart <= rec[0] < ustart + n:
                linfo.append((base + rec[0] - ustart, *rec[1:]))
        for li, loc in cs.lines.items():
            if ustart <= li < ustart + n:
                smap[base + li - ustart] = loc
        for pi, msg in cs.poisoned.items():
            if ustart <= pi < ustart + n:
                poisoned[base + pi - ustart] = msg
    finfo.sort()
    linfo.sort(key=lambda r: r[0])
    return Linked(decode(bytes(out), validate=False), refs, finfo, linfo, smap, poisoned)


def _bind(b: Binder, cs: CodeSection, code: bytearray, i: int, new_i: int, sym: Symbol,
          refs: list[MapRef], where: str, place: Callable[[CodeSection, int, str], int],
          op: int, regs: int, imm: int) -> None:
    is_lddw = op == LDDW
    if is_lddw and (i + 1) * 8 >= len(code):
        raise BadInput(f"{where}: lddw relocation at the end of the code (truncated)")
    shndx = sym.shndx
    if op == CALL:
        if shndx == 0:
            _extern(b, code, i, sym, where, is_call=True)
            return
        tcs = b.code.get(shndx)
        if tcs is None or regs >> 4 != 1:
            raise BadInput(f"{where}: call relocation against {sym.name or 'section'} "
                           f"({_secname(b, shndx)}), which is not code")
        tgt = place(tcs, sym.value // 8 + imm + 1, where)
        _SLOT.pack_into(code, i * 8, op, regs, 0, tgt - (new_i + 1))
        return
    if not is_lddw:
        raise BadInput(f"{where}: relocation against {sym.name!r} on opcode {op:#04x} "
                       "(only lddw and call can be relocated)")
    if shndx == 0:
        kc = _extern(b, code, i, sym, where, is_call=False)
        if kc is not None:
            _map_ref(code, i, regs, new_i, ".kconfig", PseudoSrc.MAP_VALUE, kc, refs)
        return
    kind = b.map_sections.get(shndx)
    if kind is not None:
        if sym.type == STT_SECTION:
            raise BadInput(f"{where}: map reference by section symbol; name the map")
        _map_ref(code, i, regs, new_i, sym.name, PseudoSrc.MAP_FD, 0, refs)
        return
    data = b.data_sections.get(shndx)
    if data is not None:
        _map_ref(code, i, regs, new_i, data, PseudoSrc.MAP_VALUE, sym.value + imm, refs)
        return
    tcs = b.code.get(shndx)
    if tcs is not None:  # function pointer (bpf_loop callback)
        target = (sym.value + imm) // 8 if sym.type == STT_SECTION else sym.value // 8
        tgt = place(tcs, target, where)
        dst = regs & 0xF
        _SLOT.pack_into(code, i * 8, LDDW, (PseudoSrc.FUNC << 4) | dst, 0, tgt - (new_i + 1))
        return
    raise BadInput(f"{where}: relocation against {sym.name or 'a symbol'} in section "
                   f"{_secname(b, shndx)}, which is neither maps, data nor code")


def _map_ref(code: bytearray, i: int, regs: int, new_i: int, name: str, kind: int, off: int,
             refs: list[MapRef]) -> None:
    """Record the reference and mark the lddw the way libbpf leaves it (src = kind, the
    value offset in the second slot); the backend fills in the map itself."""
    if not -(1 << 31) <= off < (1 << 31):
        raise BadInput(f"instruction {new_i}: offset {off} into map {name!r} is out of range")
    refs.append(MapRef(new_i, name, kind, off))
    _SLOT.pack_into(code, i * 8, LDDW, (kind << 4) | (regs & 0xF), 0, 0)
    _SLOT.pack_into(code, i * 8 + 8, 0, 0, 0, off if kind == PseudoSrc.MAP_VALUE else 0)


def _secname(b: Binder, shndx: int) -> str:
    secs = b.elf.sections
    return secs[shndx].name if shndx < len(secs) else f"#{shndx}"


def _extern(b: Binder, code: bytearray, i: int, sym: Symbol, where: str,
            is_call: bool) -> int | None:
    """Patch an extern reference; returns the .kconfig offset when the map must be bound."""
    e = b.externs.by_name.get(sym.name)
    if e is None:
        raise BadInput(f"{where}: undefined symbol {sym.name!r}; define it, or declare it "
                       "__kconfig / __ksym")
    op, regs, off, imm = _SLOT.unpack_from(code, i * 8)
    dst = regs & 0xF
    if is_call:
        if e.kind != KFUNC:
            raise BadInput(f"{where}: call to extern {sym.name!r}, which is not a kfunc")
        _SLOT.pack_into(code, i * 8, CALL, 2 << 4, 0, e.value if e.found else 0)
        return None
    if e.kind == KCONFIG:
        return e.offset + imm
    if e.kind == KSYM_VAR and e.found:
        _SLOT.pack_into(code, i * 8, LDDW, (PseudoSrc.BTF_ID << 4) | dst, 0, e.value)
        _SLOT.pack_into(code, i * 8 + 8, 0, 0, 0, 0)
        return None
    addr = e.value if (e.kind == KSYM_ADDR and e.found) else 0
    _SLOT.pack_into(code, i * 8, LDDW, dst, 0, _s32(addr & 0xFFFFFFFF))
    _SLOT.pack_into(code, i * 8 + 8, 0, 0, 0, _s32(addr >> 32))
    return None


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


__all__ = ["STT_FUNC", "Binder", "CodeSection", "Linked", "func_size", "link_program"]
