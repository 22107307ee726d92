"""A small ELF64 little-endian reader for BPF objects (struct only: fast, exact errors).

Only what the object loader needs: section headers with their bytes, the symbol
table and REL relocations. Every structural problem is a ``BadInput`` naming the
file and the section or index at fault.
"""

from __future__ import annotations

import struct

from .._record import dataclass, field
from ..errors import BadInput

EM_BPF = 247
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 1, 2, 3, 4, 8, 9
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 = 1, 2, 3, 4, 10

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")


@dataclass(slots=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    data: bytes = b""

    @property
    def is_code(self) -> bool:
        return self.type == SHT_PROGBITS and bool(self.flags & SHF_EXECINSTR)


@dataclass(slots=True)
class Symbol:
    index: int
    name: str
    value: int
    size: int
    shndx: int
    bind: int
    type: int
    visibility: int = 0


@dataclass(slots=True)
class Reloc:
    offset: int
    sym: int
    type: int


@dataclass(slots=True)
class ElfFile:
    path: str
    sections: list[Section]
    symbols: list[Symbol] = field(default_factory=list)
    relocs: dict[int, list[Reloc]] = field(default_factory=dict)  # target section -> relocs
    by_name: dict[str, Section] = field(default_factory=dict)

    def section(self, name: str) -> Section | None:
        return self.by_name.get(name)


def read_elf(data: bytes, path: str = "<object>") -> ElfFile:
    """Parse ``data`` as a BPF ELF object; ``BadInput`` for anything malformed."""
    if len(data) < _EHDR.size or data[:4] != b"\x7fELF":
        raise BadInput(f"{path}: not an ELF object file (bad magic or truncated header)")
    if data[4] != 2 or data[5] != 1:
        raise BadInput(f"{path}: only little-endian 64-bit ELF objects are supported")
    (_ident, _etype, machine, _ver, _entry, _phoff, shoff, _flags, _ehsize, _phentsize,
     _phnum, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data)
    if machine != EM_BPF:
        raise BadInput(f"{path}: ELF machine is {machine}, not BPF ({EM_BPF}); "
                       "build with clang -target bpf")
    if shentsize != _SHDR.size or shoff + shnum * shentsize > len(data):
        raise BadInput(f"{path}: section header table lies outside the file (truncated?)")
    if shstrndx >= shnum:
        raise BadInput(f"{path}: bad section name table index {shstrndx} (of {shnum})")
    raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    _n, _t, _f, _a, stroff, strsize, *_ = raw[shstrndx]
    if stroff + strsize > len(data):
        raise BadInput(f"{path}: section name table lies outside the file (truncated?)")
    names = data[stroff:stroff + strsize]
    sections: list[Section] = []
    for i, (n, typ, flags, _addr, off, size, link, info, _al, _es) in enumerate(raw):
        name = _cstr(names, n)
        if typ != SHT_NOBITS and i and off + size > len(data):
            raise BadInput(f"{path}: section {i} ({name}) lies outside the file (truncated?)")
        body = data[off:off + size] if typ != SHT_NOBITS else b""
        sections.append(Section(i, name, typ, flags, off, size, link, info, body))
    elf = ElfFile(path, sections, by_name={s.name: s for s in sections})
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is not None:
        if symtab.link >= shnum:
            raise BadInput(f"{path}: symbol table links to bad section {symtab.link}")
        strs = sections[symtab.link].data
        for i, (n, info, other, shndx, value, size) in enumerate(_SYM.iter_unpack(
                symtab.data[:len(symtab.data) // _SYM.size * _SYM.size])):
            if shndx >= shnum and shndx not in (SHN_ABS, SHN_COMMON):
                raise BadInput(f"{path}: symbol {i} refers to bad section index {shndx}")
            elf.symbols.append(Symbol(i, _cstr(strs, n), value, size, shndx, info >> 4,
                                      info & 0xF, other & 3))
    for s in sections:
        if s.type == SHT_RELA:
            raise BadInput(f"{path}: section {s.name}: RELA relocations are not used by BPF "
                           "objects; build with clang -target bpf")
        if s.type != SHT_REL:
            continue
        if s.info >= shnum or s.info == 0:
            raise BadInput(f"{path}: relocation section {s.name} targets bad section {s.info}")
        if sections[s.info].name.startswith((".debug", ".BTF")):
            continue  # DWARF/BTF relocations matter to linkers, not to loading
        rels = []
        for off, info in _REL.iter_unpack(s.data[:len(s.data) // 16 * 16]):
            sym = info >> 32
            if sym >= len(elf.symbols):
                raise BadInput(f"{path}: {s.name}: relocation at {off:#x} names symbol {sym} "
                               f"of {len(elf.symbols)}")
            rels.append(Reloc(off, sym, info & 0xFFFFFFFF))
        elf.relocs[s.info] = rels
    return elf


def _cstr(table: bytes, off: int) -> str:
    end = table.find(b"\0", off)
    s = table[off:end if end >= 0 else len(table)].decode(errors="replace")
    # names end up in one-line error messages: escape control characters
    return s if s.isprintable() else s.encode("unicode_escape").decode()
