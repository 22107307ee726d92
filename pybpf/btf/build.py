"""Build BTF blobs: give maps typed keys/values and carry programs' func/line info.

Every method appends one type record and returns its id (ids start at 1; 0 is
void). Strings are deduplicated. The builder also tracks each type's size and
alignment so ``c_struct`` can lay out members the way a C compiler would.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

from .._record import dataclass
from ..errors import BadInput, PybpfError
from .format import (
    BTF_MAGIC,
    BTF_VERSION,
    FUNC_GLOBAL,
    FUNC_INFO,
    HEADER,
    HEADER_LEN,
    INT_BOOL,
    INT_CHAR,
    INT_SIGNED,
    LINE_INFO,
    MAX_VLEN,
    TYPE_HDR,
    VAR_GLOBAL_ALLOCATED,
    Kind,
    make_info,
)

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from .parse import Btf

MemberSpec = tuple[str, int, int] | tuple[str, int, int, int]  # name, type, bit_offset[, bits]


class BtfBuilder:
    """An encoder for one BTF blob, or for split BTF over ``base`` (ids and string
    offsets then continue the base's, and the base's strings are reused)."""

    def __init__(self, base: Btf | None = None) -> None:
        self.base = base
        self.start_id = base.nr_types if base else 1
        self._start_str = base.start_str + base.str_len if base else 0
        self._recs: list[bytes] = []
        self._strs = bytearray(b"" if base else b"\0")
        self._str_off: dict[str, int] = {"": 0}
        self._layout: dict[int, tuple[int, int]] = {0: (0, 0)}  # id -> (size, align)
        self._kinds: dict[int, Kind] = {0: Kind.UNKN}
        self._names: dict[tuple[Kind, str], int] = {}
        self._array_index = 0

    # ---- low level ----------------------------------------------------------------------

    def add_string(self, s: str) -> int:
        """Offset of ``s`` in the string section (added once)."""
        off = self._str_off.get(s)
        if off is None:
            if "\0" in s:
                raise BadInput(f"BTF string {s!r} contains a NUL byte")
            in_base = self.base._string_offsets(s.encode()) if self.base else []
            if in_base:
                off = self._str_off[s] = in_base[0]
            else:
                off = self._str_off[s] = self._start_str + len(self._strs)
                self._strs += s.encode() + b"\0"
        return off

    def _add(self, kind: Kind, name: str, vlen: int, size_or_type: int, tail: bytes = b"",
             kflag: bool = False, layout: tuple[int, int] = (0, 0)) -> int:
        if vlen > MAX_VLEN:
            raise BadInput(f"BTF {kind.name.lower()} {name!r} has {vlen} entries "
                           f"(at most {MAX_VLEN})")
        rec = TYPE_HDR.pack(self.add_string(name), make_info(kind, vlen, kflag),
                            size_or_type) + tail
        self._recs.append(rec)
        tid = self.start_id + len(self._recs) - 1
        self._layout[tid] = layout
        self._kinds[tid] = kind
        if name:
            self._names.setdefault((kind, name), tid)
        return tid

    def _check(self, tid: int, what: str) -> int:
        if tid not in self._kinds and self.base is not None and 0 < tid < self.start_id:
            self._kinds[tid] = self.base.kind_of(tid)
            try:
                self._layout[tid] = (self.base.size(tid), self.base.align(tid))
            except PybpfError:
                self._layout[tid] = (0, 0)
        if tid not in self._kinds:
            raise BadInput(f"{what}: type id {tid} has not been added to this BTF builder")
        return tid

    def size_of(self, tid: int) -> int:
        return self._layout[self._check(tid, "size_of")][0]

    def align_of(self, tid: int) -> int:
        return self._layout[self._check(tid, "align_of")][1]

    def find(self, name: str, kind: Kind) -> int | None:
        """A type already added under that name and kind (ids are stable), or None."""
        return self._names.get((kind, name))

    def __len__(self) -> int:
        """Number of types added (not counting void or the base's)."""
        return len(self._recs)

    # ---- kinds --------------------------------------------------------------------------

    def int_type(self, name: str, size: int, signed: bool = False, char: bool = False,
            bool_: bool = False, bits: int | None = None, bit_offset: int = 0) -> int:
        if size not in (1, 2, 4, 8, 16):
            raise BadInput(f"BTF int {name!r}: size {size} must be 1, 2, 4, 8 or 16")
        if signed + char + bool_ > 1:
            raise BadInput(f"BTF int {name!r}: the kernel allows one encoding of signed, "
                           "char and bool")
        enc = (INT_SIGNED if signed else 0) | (INT_CHAR if char else 0) | (INT_BOOL if bool_ else 0)
        nbits = size * 8 if bits is None else bits
        tail = struct.pack("<I", (enc << 24) | (bit_offset << 16) | nbits)
        return self._add(Kind.INT, name, 0, size, tail, layout=(size, min(size, 8)))

    def float_type(self, name: str, size: int) -> int:
        return self._add(Kind.FLOAT, name, 0, size, layout=(size, min(size, 8)))

    def ptr(self, tid: int) -> int:
        return self._add(Kind.PTR, "", 0, self._check(tid, "ptr"), layout=(8, 8))

    def _ref(self, kind: Kind, name: str, tid: int) -> int:
        return self._add(kind, name, 0, self._check(tid, kind.name.lower()),
                         layout=self._layout[tid])

    def typedef(self, name: str, tid: int) -> int:
        return self._ref(Kind.TYPEDEF, name, tid)

    def const(self, tid: int) -> int:
        return self._ref(Kind.CONST, "", tid)

    def volatile(self, tid: int) -> int:
        return self._ref(Kind.VOLATILE, "", tid)

    def restrict(self, tid: int) -> int:
        return self._ref(Kind.RESTRICT, "", tid)

    def type_tag(self, name: str, tid: int) -> int:
        return self._ref(Kind.TYPE_TAG, name, tid)

    def array(self, elem: int, nelems: int, index_type: int | None = None) -> int:
        if index_type is None:
            if not self._array_index:
                self._array_index = self.int_type("__ARRAY_SIZE_TYPE__", 4)
            index_type = self._array_index
        size, align = self._layout[self._check(elem, "array")]
        tail = struct.pack("<III", elem, self._check(index_type, "array index"), nelems)
        return self._add(Kind.ARRAY, "", 0, 0, tail, layout=(size * nelems, align))

    def _composite(self, kind: Kind, name: str, size: int, members: Sequence[MemberSpec]) -> int:
        kflag = any(len(m) > 3 and m[3] for m in members)
        parts, align = [], 1
        for m in members:
            mname, mtype, off = m[0], self._check(m[1], f"member {m[0]!r}"), m[2]
            bits = m[3] if len(m) > 3 else 0  # type: ignore[misc]
            if kflag:
                if bits > 255 or off >= 1 << 24:
                    raise BadInput(f"member {mname!r}: bitfield {bits} bits at bit {off} "
                                   "does not fit BTF's kflag encoding")
                off |= bits << 24
            parts.append(struct.pack("<III", self.add_string(mname), mtype, off))
            align = max(align, self._layout[mtype][1])
        return self._add(kind, name, len(members), size, b"".join(parts), kflag,
                         layout=(size, align))

    def struct(self, name: str, size: int, members: Sequence[MemberSpec]) -> int:
        """``members``: (name, type, bit_offset) or (name, type, bit_offset, bitfield_bits)."""
        return self._composite(Kind.STRUCT, name, size, members)

    def union(self, name: str, size: int, members: Sequence[MemberSpec]) -> int:
        return self._composite(Kind.UNION, name, size, members)

    def c_struct(self, name: str, fields: Sequence[tuple[str, int]]) -> int:
        """A struct laid out like C does: each field at its natural alignment."""
        off, align, members = 0, 1, []
        for fname, tid in fields:
            size, a = self._layout[self._check(tid, f"field {fname!r}")]
            a = max(a, 1)
            off = -(-off // a) * a
            members.append((fname, tid, off * 8))
            off += size
            align = max(align, a)
        return self.struct(name, -(-off // align) * align, members)

    def enum(self, name: str, values: Mapping[str, int] | Iterable[tuple[str, int]],
             size: int = 4, signed: bool | None = None) -> int:
        """ENUM, or ENUM64 when ``size`` is 8 or a value needs more than 32 bits."""
        vals = list(values.items()) if isinstance(values, Mapping) else list(values)
        if signed is None:
            signed = any(v < 0 for _, v in vals)
        wide = size == 8 or any(not -(1 << 31) <= v < (1 << 32) for _, v in vals)
        if wide:
            return self.enum64(name, vals, 8 if size < 8 else size, signed)
        tail = b"".join(struct.pack("<II", self.add_string(n), v & 0xFFFFFFFF) for n, v in vals)
        return self._add(Kind.ENUM, name, len(vals), size, tail, signed, layout=(size, size))

    def enum64(self, name: str, values: Iterable[tuple[str, int]], size: int = 8,
               signed: bool = False) -> int:
        vals = list(values)
        parts = []
        for n, v in vals:
            u = v & 0xFFFFFFFFFFFFFFFF
            parts.append(struct.pack("<III", self.add_string(n), u & 0xFFFFFFFF, u >> 32))
        return self._add(Kind.ENUM64, name, len(vals), size, b"".join(parts), signed,
                         layout=(size, min(size, 8)))

    def fwd(self, name: str, union: bool = False) -> int:
        return self._add(Kind.FWD, name, 0, 0, kflag=union)

    def func_proto(self, ret: int, params: Sequence[tuple[str, int] | int],
                   variadic: bool = False) -> int:
        """``params``: (name, type) pairs or bare type ids; ``variadic`` appends ``...``."""
        ps = [p if isinstance(p, tuple) else ("", p) for p in params]
        if variadic:
            ps.append(("", 0))
        tail = b"".join(struct.pack("<II", self.add_string(n), self._check(t, f"param {n!r}"))
                        for n, t in ps)
        return self._add(Kind.FUNC_PROTO, "", len(ps), self._check(ret, "return type"), tail)

    def func(self, name: str, proto: int, linkage: int = FUNC_GLOBAL) -> int:
        if self._kinds.get(proto) != Kind.FUNC_PROTO:
            raise BadInput(f"func {name!r}: type {proto} is not a func_proto")
        return self._add(Kind.FUNC, name, linkage, proto)

    def var(self, name: str, tid: int, linkage: int = VAR_GLOBAL_ALLOCATED) -> int:
        return self._add(Kind.VAR, name, 0, self._check(tid, f"var {name!r}"),
                         struct.pack("<I", linkage), layout=self._layout[tid])

    def datasec(self, name: str, vars: Sequence[tuple[int, int, int]],
                size: int | None = None) -> int:
        """``vars``: (var type id, byte offset, byte size), sorted by offset."""
        tail = b"".join(struct.pack("<III", self._check(v, f"datasec {name!r}"), o, s)
                        for v, o, s in vars)
        total = size if size is not None else max((o + s for _, o, s in vars), default=0)
        return self._add(Kind.DATASEC, name, len(vars), total, tail, layout=(total, 1))

    def decl_tag(self, name: str, tid: int, component_idx: int = -1) -> int:
        return self._add(Kind.DECL_TAG, name, 0, self._check(tid, f"decl_tag {name!r}"),
                         struct.pack("<i", component_idx))

    # ---- output -------------------------------------------------------------------------

    def encode(self) -> bytes:
        """The blob: header, type section, string section."""
        types = b"".join(self._recs)
        strs = bytes(self._strs)
        hdr = HEADER.pack(BTF_MAGIC, BTF_VERSION, 0, HEADER_LEN, 0, len(types),
                          len(types), len(strs))
        return hdr + types + strs


@dataclass(frozen=True, slots=True)
class LineInfo:
    """One ``bpf_line_info``: the source line that instruction ``insn_off`` came from.
    ``file_name_off``/``line_off`` are string offsets in the program's BTF."""

    insn_off: int
    file_name_off: int
    line_off: int
    line: int
    col: int = 0


def encode_func_info(records: Iterable[tuple[int, int]]) -> bytes:
    """``bpf_func_info`` array: (instruction index, FUNC type id) per function."""
    return b"".join(FUNC_INFO.pack(off, tid) for off, tid in records)


def encode_line_info(records: Iterable[LineInfo]) -> bytes:
    """``bpf_line_info`` array (line in the top 22 bits, column in the low 10)."""
    return b"".join(LINE_INFO.pack(r.insn_off, r.file_name_off, r.line_off,
                                   (r.line << 10) | (r.col & 0x3FF)) for r in records)
