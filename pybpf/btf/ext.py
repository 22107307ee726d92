"""``.BTF.ext`` of a clang-built object: func_info, line_info and CO-RE relocations.

Layout (tools/lib/bpf/libbpf_internal.h, struct btf_ext_header): a header with
offsets of up to three sections; each section is ``u32 rec_size`` followed by
per-ELF-section blocks ``{u32 sec_name_off; u32 num_info; rec[num_info]}``.
Records are read with their declared ``rec_size`` so newer, longer records still
parse. Instruction offsets in the file are in bytes; here they are instruction
indexes (byte offset / 8), as ``ProgramSpec`` counts them.
"""

from __future__ import annotations

import struct

from .._fastenum import IntEnumBase, fast_enum
from .._record import dataclass, field
from .parse import BtfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from .parse import Btf

EXT_MAGIC = 0xEB9F
_EXT_HDR = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, func/line off+len
_CORE_HDR = struct.Struct("<II")  # core_relo_off, core_relo_len (when hdr_len >= 32)


@fast_enum
class CoreReloKind(IntEnumBase):
    """enum bpf_core_relo_kind."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


# records are not frozen: a frozen __init__ costs 3x, and an object has ~1,000 of them
@dataclass(slots=True)
class FuncInfoRec:
    insn: int  # instruction index within its ELF section
    type_id: int  # a FUNC in the object's BTF


@dataclass(slots=True)
class LineInfoRec:
    insn: int
    file_name: str
    line_text: str
    line: int
    col: int
    file_off: int = 0  # string offsets of file_name and line_text in the object's BTF
    line_off: int = 0


@dataclass(slots=True)
class CoreRelo:
    """One CO-RE relocation: instruction ``insn`` accesses ``access`` ("0:1:2": the
    first index steps over the root pointer/array, the rest are member/element
    indexes) of local type ``type_id``."""

    insn: int
    type_id: int
    access: str
    kind: CoreReloKind

    @property
    def access_indexes(self) -> list[int]:
        return [int(x) for x in self.access.split(":")] if self.access else []


@dataclass(slots=True)
class BtfExt:
    """Records grouped by ELF section name (e.g. "tracepoint/syscalls/sys_enter_openat")."""

    func_info: dict[str, list[FuncInfoRec]] = field(default_factory=dict)
    line_info: dict[str, list[LineInfoRec]] = field(default_factory=dict)
    core_relos: dict[str, list[CoreRelo]] = field(default_factory=dict)


def parse_btf_ext(data: bytes, btf: Btf, name: str = ".BTF.ext") -> BtfExt:
    """Decode a ``.BTF.ext`` section; ``btf`` is the object's ``.BTF`` (for strings)."""
    if len(data) < _EXT_HDR.size:
        raise BtfError(f"{name}: {len(data)} bytes is too short for a .BTF.ext header")
    magic, version, _flags, hdr_len, f_off, f_len, l_off, l_len = _EXT_HDR.unpack_from(data)
    if magic != EXT_MAGIC or version != 1:
        raise BtfError(f"{name}: bad .BTF.ext magic {magic:#06x} or version {version}")
    ext = BtfExt()
    strings: dict[int, str] = {}  # inlined code repeats the same file and line strings

    def s(off: int) -> str:
        v = strings.get(off)
        if v is None:
            v = strings[off] = btf.string(off)
        return v

    def func(sec: str, rec: tuple[int, ...]) -> None:
        ext.func_info.setdefault(sec, []).append(FuncInfoRec(rec[0] // 8, rec[1]))

    def line(sec: str, rec: tuple[int, ...]) -> None:
        ext.line_info.setdefault(sec, []).append(
            LineInfoRec(rec[0] // 8, s(rec[1]), s(rec[2]), rec[3] >> 10, rec[3] & 0x3FF,
                        rec[1], rec[2]))

    def core(sec: str, rec: tuple[int, ...]) -> None:
        try:
            kind = CoreReloKind(rec[3])
        except ValueError:
            raise BtfError(f"{name}: section {sec!r}: unknown CO-RE relocation kind {rec[3]} "
                           "(newer than pybpf)") from None
        ext.core_relos.setdefault(sec, []).append(CoreRelo(rec[0] // 8, rec[1], s(rec[2]), kind))

    _section(data, hdr_len + f_off, f_len, 2, func, s, f"{name} func_info")
    _section(data, hdr_len + l_off, l_len, 4, line, s, f"{name} line_info")
    if hdr_len >= _EXT_HDR.size + _CORE_HDR.size:
        c_off, c_len = _CORE_HDR.unpack_from(data, _EXT_HDR.size)
        _section(data, hdr_len + c_off, c_len, 4, core, s, f"{name} core_relo")
    return ext


def _section(data: bytes, start: int, length: int, words: int, add, string, what: str) -> None:  # type: ignore[no-untyped-def]
    if not length:
        return
    end = start + length
    if end > len(data) or length < 4:
        raise BtfError(f"{what}: section lies outside the .BTF.ext data")
    rec_size, = struct.unpack_from("<I", data, start)
    if rec_size < words * 4:
        raise BtfError(f"{what}: record size {rec_size} is smaller than {words * 4}")
    fmt = struct.Struct(f"<{words}I")
    pos = start + 4
    while pos < end:
        if pos + 8 > end:
            raise BtfError(f"{what}: truncated block header at byte {pos}")
        sec_off, n = struct.unpack_from("<II", data, pos)
        sec = string(sec_off)
        pos += 8
        if pos + n * rec_size > end:
            raise BtfError(f"{what}: section {sec!r} claims {n} records past the end")
        for i in range(n):
            add(sec, fmt.unpack_from(data, pos + i * rec_size))
        pos += n * rec_size


def load_object_btf(path: str) -> tuple[Btf, BtfExt | None]:
    """``.BTF`` and ``.BTF.ext`` of a clang-built object file."""
    from .elfsec import elf_section
    from .parse import Btf

    with open(path, "rb") as f:
        data = f.read()
    btf = Btf.from_file(path)
    raw_ext = elf_section(data, ".BTF.ext", path)
    return btf, parse_btf_ext(raw_ext, btf, f"{path}: .BTF.ext") if raw_ext else None
