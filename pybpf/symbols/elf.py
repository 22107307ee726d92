"""A small ELF64 reader: sections, segments, symbols and notes, with ``struct`` only.

Enough for uprobes (symbol → file offset), user stacks (address → symbol) and
USDT notes; pyelftools is not needed on the start-up path.
"""

from __future__ import annotations

import bisect
import functools
import mmap
import os
import struct

from .._record import dataclass
from ..errors import BadInput

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator

ET_EXEC, ET_DYN = 2, 3
SHT_SYMTAB, SHT_NOTE, SHT_DYNSYM, SHT_NOBITS = 2, 7, 11, 8
PT_LOAD = 1
STT_OBJECT, STT_FUNC, STT_GNU_IFUNC = 1, 2, 10
SHN_UNDEF = 0

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_PHDR = struct.Struct("<IIQQQQQQ")
_SYM = struct.Struct("<IBBHQQ")


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    entsize: int


@dataclass(frozen=True, slots=True)
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    value: int
    size: int
    type: int  # STT_*
    bind: int  # STB_*
    shndx: int

    @property
    def is_func(self) -> bool:
        return self.type in (STT_FUNC, STT_GNU_IFUNC)


class ElfFile:
    """One ELF64 little-endian file, memory-mapped read-only."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                self._data: bytes | mmap.mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except (ValueError, OSError) as e:  # empty file or a directory
            raise BadInput(f"{path}: not an ELF file ({e})") from None
        d = self._data
        if len(d) < _EHDR.size or d[:4] != b"\x7fELF":
            raise BadInput(f"{path}: not an ELF file")
        if d[4] != 2 or d[5] != 1:
            raise BadInput(f"{path}: only 64-bit little-endian ELF files are supported")
        (_, self.type, self.machine, _, self.entry, phoff, shoff, _, _, phentsize, phnum,
         shentsize, shnum, shstrndx) = _EHDR.unpack_from(d, 0)
        self.segments: list[Segment] = []
        for i in range(phnum if phoff else 0):
            ptype, pflags, poff, pvaddr, _paddr, pfilesz, pmemsz, _ = _PHDR.unpack_from(
                d, phoff + i * phentsize)
            self.segments.append(Segment(ptype, pflags, poff, pvaddr, pfilesz, pmemsz))
        raw = [_SHDR.unpack_from(d, shoff + i * shentsize) for i in range(shnum)] if shoff else []
        names = raw[shstrndx] if raw and shstrndx < len(raw) else None
        self.sections: list[Section] = []
        for r in raw:
            name = self._cstr(names[4] + r[0]) if names else ""
            self.sections.append(Section(name, r[1], r[2], r[3], r[4], r[5], r[6], r[9]))

    def close(self) -> None:
        if isinstance(self._data, mmap.mmap):
            self._data.close()

    def __enter__(self) -> ElfFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cstr(self, off: int) -> str:
        end = self._data.find(b"\0", off)
        return bytes(self._data[off:end]).decode(errors="replace")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, sec: Section) -> bytes:
        if sec.type == SHT_NOBITS:
            return b""
        return bytes(self._data[sec.offset:sec.offset + sec.size])

    # -- symbols -------------------------------------------------------
    def _symbols_of(self, sec: Section) -> Iterator[Symbol]:
        if sec.link >= len(self.sections) or not sec.entsize:
            return
        strtab = self.sections[sec.link]
        strs = bytes(self._data[strtab.offset:strtab.offset + strtab.size])
        data = bytes(self._data[sec.offset:sec.offset + sec.size - sec.size % _SYM.size])
        for name_off, info, _other, shndx, value, size in _SYM.iter_unpack(data):
            if not name_off:
                continue
            end = strs.find(b"\0", name_off)
            yield Symbol(strs[name_off:end].decode(errors="replace"), value, size,
                         info & 0xF, info >> 4, shndx)

    @functools.cached_property
    def symbols(self) -> list[Symbol]:
        """Defined symbols of .symtab and .dynsym (symtab first; duplicates kept once)."""
        out: list[Symbol] = []
        seen: set[tuple[str, int]] = set()
        for kind in (SHT_SYMTAB, SHT_DYNSYM):
            for sec in self.sections:
                if sec.type != kind:
                    continue
                for s in self._symbols_of(sec):
                    if s.shndx == SHN_UNDEF or (s.name, s.value) in seen:
                        continue
                    seen.add((s.name, s.value))
                    out.append(s)
        return out

    @functools.cached_property
    def _by_name(self) -> dict[str, Symbol]:
        table: dict[str, Symbol] = {}
        for s in self.symbols:
            base = s.name.split("@", 1)[0]
            for key in (s.name, base):
                old = table.get(key)
                if old is None or (not old.is_func and s.is_func):
                    table[key] = s
        return table

    def symbol(self, name: str) -> Symbol | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _funcs_sorted(self) -> tuple[list[int], list[Symbol]]:
        funcs = sorted((s for s in self.symbols if s.is_func and s.value), key=lambda s: s.value)
        return [s.value for s in funcs], funcs

    def symbolize(self, vaddr: int) -> tuple[Symbol, int] | None:
        """The function containing ``vaddr`` and the offset into it."""
        starts, funcs = self._funcs_sorted
        i = bisect.bisect_right(starts, vaddr) - 1
        if i < 0:
            return None
        s = funcs[i]
        if s.size and vaddr >= s.value + s.size:
            return None
        return s, vaddr - s.value

    # -- addresses -----------------------------------------------------
    def vaddr_to_offset(self, vaddr: int) -> int:
        """File offset of a virtual address (what a uprobe takes)."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= vaddr < seg.vaddr + seg.memsz:
                return vaddr - seg.vaddr + seg.offset
        for sec in self.sections:  # objects without program headers
            if sec.addr and sec.addr <= vaddr < sec.addr + sec.size and sec.type != SHT_NOBITS:
                return vaddr - sec.addr + sec.offset
        raise BadInput(f"{self.path}: address 0x{vaddr:x} is not in any loaded segment")

    def offset_to_vaddr(self, offset: int) -> int:
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.offset <= offset < seg.offset + max(seg.filesz, 1):
                return offset - seg.offset + seg.vaddr
        return offset

    # -- notes ---------------------------------------------------------
    def notes(self, section: str) -> Iterator[tuple[str, int, bytes]]:
        """(owner name, type, desc) of each note in ``section``."""
        sec = self.section(section)
        if sec is None:
            return
        data = self.section_data(sec)
        pos = 0
        while pos + 12 <= len(data):
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            pos += 12
            name = data[pos:pos + namesz].rstrip(b"\0").decode(errors="replace")
            pos += (namesz + 3) & ~3
            desc = data[pos:pos + descsz]
            pos += (descsz + 3) & ~3
            yield name, ntype, desc

    @functools.cached_property
    def build_id(self) -> str | None:
        for sec in self.sections:
            if sec.type == SHT_NOTE:
                for name, ntype, desc in self.notes(sec.name):
                    if name == "GNU" and ntype == 3:
                        return desc.hex()
        return None


@functools.lru_cache(maxsize=64)
def _open_cached(path: str, mtime: float) -> ElfFile:
    return ElfFile(path)


def open_elf(path: str) -> ElfFile:
    """A cached ``ElfFile`` (re-read when the file changes)."""
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    return _open_cached(path, mtime)
