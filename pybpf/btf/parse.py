"""The lazy BTF reader.

Opening a blob only reads it. ``find`` searches the string section for the exact
name (``bytes.find``), then the raw type section for that 4-byte string offset;
a hit counts only if it falls on a record start, which is checked against an
index of record boundaries built lazily, in order, and only as far as needed.
Types are decoded on first access and cached. Once lookups are frequent, one
full pass builds a name -> id index instead.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_left
from operator import itemgetter

from ..errors import BadInput, PybpfError
from . import types as T
from .format import (
    BTF_MAGIC,
    FIXED_WORDS,
    HEADER,
    HEADER_LEN,
    PASS_THROUGH,
    PER_VLEN_WORDS,
    Kind,
)
from .lookup_memo import LookupMemo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from mmap import mmap
    from typing import Any

    Buffer = bytes | mmap
else:
    Buffer = bytes
_MMAP: type | None = None  # mmap.mmap, once vmlinux.py has mapped a sysfs file


class BtfError(BadInput):
    """A malformed BTF blob."""


class BtfNotFound(PybpfError):
    """A type, member or BTF file that does not exist."""


_KIND_NAMES = {k: k.name.lower() for k in Kind}
_REF_KINDS: dict[int, type[T.Ref]] = {
    Kind.PTR: T.Ptr, Kind.TYPEDEF: T.Typedef, Kind.VOLATILE: T.Volatile,
    Kind.CONST: T.Const, Kind.RESTRICT: T.Restrict, Kind.TYPE_TAG: T.TypeTag,
}
_MAX_CHAIN = 64  # longer typedef/modifier chains mean a loop in the graph
_INDEX_AFTER = 48  # name scans before a full name index (~45 ms) pays for itself
_COLUMN_AFTER = 2  # raw scans (~5 ms each) before a name-offset column (~20 ms) does
# Kinds whose records may carry a name (kind + the two reserved bits above it).
_NAMED_KINDS = frozenset({
    Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.TYPEDEF, Kind.FUNC, Kind.VAR,
    Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG, Kind.TYPE_TAG, Kind.ENUM64,
})


def _i32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _i64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


_STEP: dict[int, int] = {}  # info word -> record length in words (shared: layout is universal)


def _step(info: int) -> int:
    k = (info >> 24) & 0x1F
    if k == 0 or k >= len(FIXED_WORDS):
        raise IndexError(k)
    s = _STEP[info] = 3 + FIXED_WORDS[k] + PER_VLEN_WORDS[k] * (info & 0xFFFF)
    return s


class Btf:
    """One BTF blob (optionally split over a ``base``), parsed lazily. See the package doc."""

    def __init__(self, data: Buffer, base: Btf | None = None, name: str = "") -> None:
        self.name = name or "<btf>"
        # a private mapping of the sysfs file is kept as is (pages are read on first
        # touch); anything else mutable is copied
        self.raw: Buffer = data if type(data) in (bytes, _MMAP) else bytes(data)
        self.base = base
        if len(data) < HEADER_LEN:
            raise BtfError(f"{self.name}: {len(data)} bytes is too short for a BTF header")
        magic, version, _flags, hdr_len, t_off, t_len, s_off, s_len = HEADER.unpack_from(data)
        if magic != BTF_MAGIC:
            if magic == 0x9FEB:
                raise BtfError(f"{self.name}: big-endian BTF is not supported")
            raise BtfError(f"{self.name}: bad BTF magic {magic:#06x} (want 0xeb9f)")
        if version != 1:
            raise BtfError(f"{self.name}: BTF version {version} is not supported (want 1)")
        t_start, s_start = hdr_len + t_off, hdr_len + s_off
        if t_len % 4 or t_start + t_len > len(data) or s_start + s_len > len(data):
            raise BtfError(f"{self.name}: type/string sections lie outside the blob")
        # strings stay in the blob: offset o of the section is byte _s0 + o of ``raw``
        self._s0, self._s_end = s_start, s_start + s_len
        mv = memoryview(self.raw)[t_start:t_start + t_len]
        if sys.byteorder == "little" and t_start % 4 == 0:
            self._w: memoryview | array = mv.cast("I")
        else:
            self._w = array("I", mv.tobytes())
            if sys.byteorder == "big":
                self._w.byteswap()
        self._t_start, self._t_end = t_start, t_start + t_len  # raw range searched for name_offs
        # Record offsets (in words), filled in lazily and in order by _index_to().
        self._offs = array("I")
        self._next = 0  # word offset of the first record not yet indexed
        self.start_id = base.nr_types if base else 1
        self.start_str: int = base.str_len + base.start_str if base else 0
        self._cache: dict[int, T.Type] = {}
        self._by_name: dict[str, list[int]] = {}
        self._first: dict[tuple[str, Kind | None], int] = {}  # find() answers
        # name -> id (or ids), built once lookups become frequent (a scan costs ~1-5 ms)
        self._name_index: dict[bytes, int | list[int]] | None = None
        self._scans = 0
        self._name_col: bytes | None = None  # every record's name_off (uint32), once useful
        # what name scans found; vmlinux's is kept on disk per boot (lookup_memo)
        self.memo = LookupMemo()
        # values other modules compute from these types, cached with them (e.g. CO-RE's
        # member indexes of kernel structs)
        self.derived: dict[str, Any] = {}

    @property
    def str_len(self) -> int:
        """Length of this blob's own string section."""
        return self._s_end - self._s0

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, base: Btf | None = None, name: str = "") -> Btf:
        return cls(data, base, name)

    @classmethod
    def from_file(cls, path: str, base: Btf | None = None) -> Btf:
        """A raw BTF file (``/sys/kernel/btf/*``) or an ELF object's ``.BTF`` section."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise BtfNotFound(f"{path}: no such BTF file") from None
        if data[:4] == b"\x7fELF":
            from .elfsec import elf_section

            sec = elf_section(data, ".BTF", path)
            if sec is None:
                raise BtfNotFound(f"{path}: the object has no .BTF section; build it with -g")
            data = sec
        return cls(data, base, os.path.basename(path))

    # ---- the lazy record index ---------------------------------------------------------

    def _index_to(self, word: int = -1, count: int = -1) -> None:
        """Index records until the one starting at ``word``, or ``count`` records, or the end."""
        w, offs, step = self._w, self._offs, _STEP
        add, n, i = offs.append, len(w), self._next
        limit = n if word < 0 else min(n, word + 1)
        try:
            if count >= 0:
                for _ in range(count - len(offs)):
                    if i >= n:
                        break
                    add(i)
                    info = w[i + 1]
                    i += step.get(info) or _step(info)
            else:
                while i < limit:
                    add(i)
                    info = w[i + 1]
                    i += step.get(info) or _step(info)
        except (IndexError, KeyError):
            raise BtfError(
                f"{self.name}: type record {self.start_id + len(offs) - 1} (byte {offs[-1] * 4} "
                "of the type section) has an unknown kind or is cut short; the BTF is corrupt "
                "or newer than pybpf") from None
        self._next = i
        if i > n:
            raise BtfError(f"{self.name}: last type record runs past the end of the type section")

    @property
    def type_words(self) -> int:
        """Length of the type section in 4-byte words."""
        return len(self._w)

    def all_offsets(self) -> bytes:
        """Every record's word offset (uint32, native order), indexing all records."""
        self._index_to()
        return self._offs.tobytes()

    def adopt_offsets(self, nwords: int, offs: bytes) -> bool:
        """Take record boundaries computed earlier for this same blob (``all_offsets``);
        False, changing nothing, unless they are consistent with it."""
        w = self._w
        a = array("I")
        a.frombytes(offs)
        if nwords != len(w) or not a or a[0] != 0:
            return False
        last = a[-1]
        if last + 1 >= len(w):
            return False
        info = w[last + 1]
        if last + (_STEP.get(info) or _step(info)) != len(w):
            return False
        self._offs, self._next = a, len(w)
        return True

    def record_name(self, tid: int) -> bytes:
        """The raw name of one of our records (b"" when it has none)."""
        noff = self._record(tid)[1]
        if not noff:
            return b""
        o = noff - self.start_str + self._s0
        return self.raw[o:self.raw.find(b"\0", o, self._s_end)]

    @property
    def nr_types(self) -> int:
        """Number of type ids including void and the base's: ids are 0 .. nr_types - 1."""
        if self._next < len(self._w):
            self._index_to()
        return self.start_id + len(self._offs)

    def _note_scan(self) -> bool:
        """Count a scan of the sections; past a few, build the full name index once.
        True when that index exists (so callers use it instead of scanning)."""
        if self._name_index is None:
            self._scans += 1
            if self._scans >= _INDEX_AFTER:
                self._build_name_index()
        return self._name_index is not None

    def _build_name_index(self) -> None:
        """Name -> id for every record (a list only for names used more than once)."""
        self._index_to()
        w, tid = self._w, self.start_id
        idx: dict[bytes, int | list[int]] = {}
        strs, s0, b0 = self.raw, self.start_str, self._s0
        find, get = strs.find, idx.get
        base = self.base
        for o in self._offs:
            noff = w[o]
            if noff:
                if noff >= s0:
                    i = noff - s0 + b0
                    key = strs[i:find(b"\0", i)]
                else:
                    assert base is not None
                    key = base.string(noff).encode()
                v = get(key)
                if v is None:
                    idx[key] = tid
                elif isinstance(v, int):
                    idx[key] = [v, tid]
                else:
                    v.append(tid)
            tid += 1
        self._name_index = idx

    # ---- strings and raw records --------------------------------------------------------

    def string(self, off: int) -> str:
        o = off - self.start_str
        if o < 0:
            assert self.base is not None
            return self.base.string(off)
        o += self._s0
        end = self.raw.find(b"\0", o, self._s_end)
        if end < 0:
            raise BtfError(f"{self.name}: string offset {off} is outside the string section")
        return self.raw[o:end].decode("utf-8", "replace")

    def _string_offsets(self, key: bytes) -> list[int]:
        """Every offset (in this BTF's string space, base included) holding exactly ``key``."""
        out = self.base._string_offsets(key) if self.base else []
        s, s0, end = self.raw, self._s0, self._s_end
        if s[s0:s0 + len(key) + 1] == key + b"\0":
            out.append(self.start_str)
        pat = b"\0" + key + b"\0"
        pos = s.find(pat, s0, end)
        while pos >= 0:
            out.append(self.start_str + pos + 1 - s0)
            pos = s.find(pat, pos + 1, end)
        return out

    def _own_ids(self, key: bytes) -> list[int]:
        """Ids of *our* records (not the base's) named ``key``, in id order."""
        if self._name_index is not None:
            v = self._name_index.get(key)
            return [] if v is None else [v] if isinstance(v, int) else list(v)
        known = self.memo.ids.get(key)
        if known is not None:
            return list(known)
        if self._note_scan():
            return self._own_ids(key)
        out: list[int] = []
        for off in self._string_offsets(key):
            out.extend(self._scan_name_off(off))
        out.sort()
        self.memo.learn_ids(key, out)
        return out

    def _scan_name_off(self, off: int) -> Iterator[int]:
        """Search the raw type section for the 4-byte ``off`` and yield, in id order, the
        hits that fall on a record start (indexing records only that far). From the
        third scan on, search a column of every record's name offset instead (10x less
        to search, no false hits)."""
        pat = struct.pack("<I", off)
        if self._name_col is None and (self._scans > _COLUMN_AFTER or self._next >= len(self._w)):
            self._index_to()
            w = self._w
            self._name_col = array("I", itemgetter(*self._offs)(w) if len(self._offs) > 1
                                   else [w[o] for o in self._offs]).tobytes()
        if self._name_col is not None:
            col = self._name_col
            pos = col.find(pat)
            while pos >= 0:
                if not pos & 3:
                    yield self.start_id + (pos >> 2)
                pos = col.find(pat, pos + 1)
            return
        offs, w = self._offs, self._w
        find, start, end = self.raw.find, self._t_start, self._t_end
        pos = find(pat, start, end)
        while pos >= 0:
            if (pos - start) % 4 == 0:
                word = (pos - start) // 4
                # cheap plausibility test first, so a stray match in some other field
                # does not force indexing up to it: a named kind, reserved bits clear
                info = w[word + 1] if word + 1 < len(w) else 0
                if (info >> 24) & 0x7F in _NAMED_KINDS and not info & 0x00FF0000:
                    if word >= self._next:
                        self._index_to(word=word)
                    k = bisect_left(offs, word)
                    if k < len(offs) and offs[k] == word:
                        yield self.start_id + k
            pos = find(pat, pos + 1, end)

    def _record(self, tid: int) -> tuple[int, int, int, int]:
        """(word offset, name_off, info, size_or_type) of one of *our* type records."""
        k = tid - self.start_id
        if k >= len(self._offs):
            self._index_to(count=k + 1)
        o = self._offs[k]
        w = self._w
        return o, w[o], w[o + 1], w[o + 2]

    def kind_of(self, tid: int) -> Kind:
        """The kind of a type without decoding it."""
        if tid == 0:
            return Kind.UNKN
        if tid < self.start_id:
            if tid < 0 or self.base is None:
                raise self._no_such_id(tid)
            return self.base.kind_of(tid)
        self._check_id(tid)
        return Kind((self._record(tid)[2] >> 24) & 0x1F)

    def _check_id(self, tid: int) -> None:
        k = tid - self.start_id
        if k >= len(self._offs):
            self._index_to(count=k + 1)  # only as far as this id, not the whole section
        if tid < 0 or k >= len(self._offs):
            raise self._no_such_id(tid)

    def _no_such_id(self, tid: int) -> BtfNotFound:
        return BtfNotFound(f"{self.name}: type id {tid} does not exist "
                           f"(valid ids are 0..{self.nr_types - 1})")

    # ---- decoding -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self.nr_types

    def __getitem__(self, tid: int) -> T.Type:
        return self.type(tid)

    def type(self, tid: int) -> T.Type:
        """The decoded type ``tid`` (cached)."""
        t = self._cache.get(tid)
        if t is not None:
            return t
        if tid < self.start_id:
            if tid == 0:
                t = T.Void(0, "")
            elif tid < 0 or self.base is None:
                raise self._no_such_id(tid)
            else:
                return self.base.type(tid)
        else:
            self._check_id(tid)
            t = self._decode(tid)
        self._cache[tid] = t
        return t

    def _decode(self, tid: int) -> T.Type:
        o, name_off, info, st = self._record(tid)
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, bool(info >> 31)
        name = self.string(name_off) if name_off else ""
        ref = _REF_KINDS.get(kind)
        if ref is not None:
            return ref(tid, name, st)
        w = self._w
        tail = w[o + 3:o + 3 + FIXED_WORDS[kind] + PER_VLEN_WORDS[kind] * vlen].tolist()
        if kind == Kind.INT:
            v = tail[0]
            return T.Int(tid, name, st, (v >> 24) & 0xF, (v >> 16) & 0xFF, v & 0xFF)
        if kind in (Kind.STRUCT, Kind.UNION):
            s = self.string
            if kflag:
                ms = tuple(T.Member(s(tail[i]) if tail[i] else "", tail[i + 1],
                                    tail[i + 2] & 0xFFFFFF, tail[i + 2] >> 24)
                           for i in range(0, 3 * vlen, 3))
            else:
                ms = tuple(T.Member(s(tail[i]) if tail[i] else "", tail[i + 1], tail[i + 2])
                           for i in range(0, 3 * vlen, 3))
            cls = T.Struct if kind == Kind.STRUCT else T.Union
            return cls(tid, name, st, ms, kflag)
        if kind == Kind.ENUM:
            conv = _i32 if kflag else int
            vals = tuple(T.EnumValue(self.string(tail[i]), conv(tail[i + 1]))
                         for i in range(0, 2 * vlen, 2))
            return T.Enum(tid, name, st, kflag, vals)
        if kind == Kind.ENUM64:
            conv = _i64 if kflag else int
            vals = tuple(T.EnumValue(self.string(tail[i]), conv(tail[i + 1] | tail[i + 2] << 32))
                         for i in range(0, 3 * vlen, 3))
            return T.Enum64(tid, name, st, kflag, vals)
        if kind == Kind.ARRAY:
            return T.Array(tid, name, tail[0], tail[1], tail[2])
        if kind == Kind.FUNC_PROTO:
            ps = tuple(T.Param(self.string(tail[i]) if tail[i] else "", tail[i + 1])
                       for i in range(0, 2 * vlen, 2))
            return T.FuncProto(tid, name, st, ps)
        if kind == Kind.DATASEC:
            vs = tuple(T.VarSecinfo(tail[i], tail[i + 1], tail[i + 2])
                       for i in range(0, 3 * vlen, 3))
            return T.Datasec(tid, name, st, vs)
        if kind == Kind.FWD:
            return T.Fwd(tid, name, kflag)
        if kind == Kind.FUNC:
            return T.Func(tid, name, st, vlen)
        if kind == Kind.VAR:
            return T.Var(tid, name, st, tail[0])
        if kind == Kind.FLOAT:
            return T.Float(tid, name, st)
        if kind == Kind.DECL_TAG:
            return T.DeclTag(tid, name, st, _i32(tail[0]))
        raise BtfError(f"{self.name}: type {tid} has unknown kind {kind}")

    def types(self) -> Iterator[T.Type]:
        """Every type of this blob (not its base), in id order; decodes as it goes."""
        for tid in range(self.start_id, self.nr_types):
            yield self.type(tid)

    # ---- lookup -------------------------------------------------------------------------

    def find_all(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of every type called ``name`` (base first), optionally of one kind."""
        ids = self._by_name.get(name)
        if ids is None:
            ids = self.base.find_all(name) if self.base else []
            if name:
                ids.extend(self._own_ids(name.encode()))
            ids = sorted(set(ids))
            self._by_name[name] = ids
        if kind is None:
            return list(ids)
        return [i for i in ids if self.kind_of(i) == kind]

    def find(self, name: str, kind: Kind | None = None) -> int:
        """The first type id called ``name`` (of ``kind``, else preferring a definition
        over a forward declaration); BtfNotFound if none."""
        key = (name, kind)
        tid = self._first.get(key)
        if tid is not None:
            return tid
        if name not in self._by_name and self._name_index is None:
            tid = self._find_first(name, kind)
            if tid is not None:
                self._first[key] = tid
                return tid
        ids = self.find_all(name, kind)
        if not ids:
            what = f"{_KIND_NAMES[kind]} " if kind is not None else ""
            raise BtfNotFound(f"{self.name}: no {what}type named {name!r} in BTF")
        if kind is None and len(ids) > 1:
            # prefer a full definition over a forward declaration
            full = [i for i in ids if self.kind_of(i) != Kind.FWD]
            return full[0] if full else ids[0]
        return ids[0]

    def _find_first(self, name: str, kind: Kind | None) -> int | None:
        """Stop the scan at the first match: the common case of one cold lookup.
        None when the full search is needed to be sure."""
        if self.base is not None or not name:
            return None
        key = name.encode()
        memo_key = (key, -1 if kind is None else int(kind))
        tid = self.memo.first.get(memo_key)
        if tid is not None or key in self.memo.ids or self._note_scan():
            return tid
        offsets = self._string_offsets(key)
        if len(offsets) != 1:
            return None
        for tid in self._scan_name_off(offsets[0]):
            k = self.kind_of(tid)
            if (k == kind) if kind is not None else k != Kind.FWD:
                self.memo.learn_first(memo_key, tid)
                return tid
        return None

    def find_candidates(self, name: str, kind: Kind) -> list[int]:
        """CO-RE candidates: ids of ``kind`` whose essential name equals ``name``'s.

        The essential name drops a ``___flavor`` suffix (``task_struct___v2`` ->
        ``task_struct``); candidates may carry their own flavor suffix.
        """
        ess = essential_name(name)
        ids = set(self.find_all(ess, kind))
        ids.update(self._flavored_ids(ess.encode() + b"___", kind))
        return sorted(ids)

    def _flavored_ids(self, prefix: bytes, kind: Kind) -> list[int]:
        out = self.base._flavored_ids(prefix, kind) if self.base else []
        names = self.memo.prefixes.get(prefix)
        if names is None:
            found: set[bytes] = set()
            btf: Btf | None = self
            while btf is not None:  # our types may use strings of the base
                s, pat, end = btf.raw, b"\0" + prefix, btf._s_end
                pos = s.find(pat, btf._s0, end)
                while pos >= 0:
                    found.add(s[pos + 1:s.find(b"\0", pos + 1, end)])
                    pos = s.find(pat, pos + 1, end)
                btf = btf.base
            names = sorted(found)
            self.memo.learn_prefix(prefix, names)
        for key in names:
            out.extend(i for i in self._own_ids(key) if self.kind_of(i) == kind)
        return out

    # ---- type algebra -------------------------------------------------------------------

    def resolve(self, tid: int) -> int:
        """Skip typedef/const/volatile/restrict/type_tag."""
        return self._skip(tid, PASS_THROUGH)

    def skip_mods(self, tid: int) -> int:
        """Skip const/volatile/restrict/type_tag, keep typedefs."""
        return self._skip(tid, PASS_THROUGH - {Kind.TYPEDEF})

    def _skip(self, tid: int, kinds: frozenset[Kind]) -> int:
        for _ in range(_MAX_CHAIN):
            t = self.type(tid)
            if t.kind not in kinds:
                return tid
            tid = t.type  # type: ignore[attr-defined]
        raise BtfError(f"{self.name}: type {tid} is part of a typedef/modifier loop")

    def size(self, tid: int) -> int:
        """Byte size (libbpf's btf__resolve_size); pointers are 8 bytes."""
        nelems = 1
        for _ in range(_MAX_CHAIN):
            t = self.type(tid)
            if isinstance(t, T.Array):
                nelems *= t.nelems
                tid = t.type
            elif t.kind == Kind.PTR:
                return 8 * nelems
            elif t.kind in PASS_THROUGH or t.kind in (Kind.VAR, Kind.DECL_TAG):
                tid = t.type  # type: ignore[attr-defined]
            elif hasattr(t, "size"):
                return int(t.size) * nelems  # type: ignore[attr-defined]
            else:
                raise BtfNotFound(f"{self.name}: type {tid} ({_KIND_NAMES[t.kind]} "
                                  f"{t.name or '(anon)'}) has no size")
        raise BtfError(f"{self.name}: type {tid} is part of a type loop")

    def align(self, tid: int) -> int:
        """Natural alignment in bytes (libbpf's btf__align_of); 1 for packed structs."""
        t = self.type(self.resolve(tid))
        if isinstance(t, T.Int | T.Enum | T.Float):
            return min(t.size, 8)
        if t.kind == Kind.PTR:
            return 8
        if isinstance(t, T.Array):
            return self.align(t.type)
        if isinstance(t, T.Struct):
            max_align = 1
            for m in t.members:
                a = self.align(m.type)
                if a == 0:
                    return 0
                max_align = max(max_align, a)
                if not m.bitfield_size and m.bit_offset % (8 * a):
                    return 1
            return 1 if t.size % max_align else max_align
        return 0

    def enum_values(self, tid: int) -> dict[str, int]:
        t = self.type(self.resolve(tid))
        if not isinstance(t, T.Enum):
            raise BtfNotFound(f"{self.name}: type {tid} is a {_KIND_NAMES[t.kind]}, not an enum")
        return {v.name: v.value for v in t.values}

    def func_proto(self, what: str | int) -> T.FuncProto:
        """The prototype of a FUNC, or of a typedef of a pointer to one (``btf_trace_*``)."""
        if isinstance(what, str):
            ids = self.find_all(what, Kind.FUNC) or self.find_all(what, Kind.TYPEDEF)
            if not ids:
                raise BtfNotFound(f"{self.name}: no function or typedef named {what!r} in BTF")
            tid = ids[0]
        else:
            tid = what
        for _ in range(_MAX_CHAIN):
            t = self.type(tid)
            if isinstance(t, T.FuncProto):
                return t
            if t.kind in PASS_THROUGH or t.kind in (Kind.FUNC, Kind.PTR):
                tid = t.type  # type: ignore[attr-defined]
                continue
            break
        raise BtfNotFound(f"{self.name}: {what!r} is not a function or function pointer type")

    # ---- members ------------------------------------------------------------------------

    def _composite(self, tid: int, ctx: str) -> T.Struct:
        t = self.type(self.resolve(tid))
        if not isinstance(t, T.Struct):
            raise BtfNotFound(f"{self.name}: {ctx} is a {self.type_name(tid)}, "
                              "not a struct or union")
        return t

    def member(self, tid: int, name: str) -> T.Field:
        """Member ``name`` of struct/union ``tid``, looking inside anonymous members."""
        t = self._composite(tid, f"type {tid}")
        found = self._find_member(t, name, 0)
        if found is None:
            raise BtfNotFound(f"{self.name}: {self.type_name(tid)} has no member {name!r}")
        return found

    def fields(self, tid: int) -> list[T.Field]:
        """Every named member of struct/union ``tid`` in order, with the members of
        anonymous structs/unions lifted in place (offsets from ``tid``'s start)."""
        out: list[T.Field] = []

        def walk(t: T.Struct, base_bits: int) -> None:
            for m in t.members:
                if m.name:
                    out.append(T.Field(m.name, m.type, base_bits + m.bit_offset,
                                       m.bitfield_size, (m.name,)))
                    continue
                inner = self.type(self.resolve(m.type))
                if isinstance(inner, T.Struct):
                    walk(inner, base_bits + m.bit_offset)

        walk(self._composite(tid, f"type {tid}"), 0)
        return out

    def _find_member(self, t: T.Struct, name: str, base_bits: int) -> T.Field | None:
        for m in t.members:
            if m.name == name:
                return T.Field(name, m.type, base_bits + m.bit_offset, m.bitfield_size, (name,))
        for m in t.members:
            if not m.name:
                inner = self.type(self.resolve(m.type))
                if isinstance(inner, T.Struct):
                    f = self._find_member(inner, name, base_bits + m.bit_offset)
                    if f is not None:
                        return f
        return None

    def _named_root(self, name: str) -> int:
        for kind in (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF):
            try:
                return self.find(name, kind)
            except BtfNotFound:
                continue
        raise BtfNotFound(f"{self.name}: no struct, union or typedef named {name!r}")

    def member_path(self, root: str | int, path: str) -> T.Field:
        """Walk ``a.b[2]->c`` from struct ``root``; "." on a pointer follows it (bpftrace)."""
        if isinstance(root, str):
            tid = self._named_root(root)
        else:
            tid = root
        bits, derefs, done = 0, [], []  # type: tuple[int, list[int], list[str]]
        cur, bf = tid, 0

        def where() -> str:
            return "".join(done).lstrip(".") or self.type_name(tid)

        for tok in _path_tokens(path):
            t = self.type(self.resolve(cur))
            if isinstance(tok, int):
                if isinstance(t, T.Array):
                    if t.nelems and not 0 <= tok < t.nelems:  # nelems 0: a flexible array
                        raise BtfNotFound(f"{self.name}: index [{tok}] is out of range for "
                                          f"{where()} ({self.type_name(cur)}: "
                                          f"{t.nelems} elements)")
                    bits += tok * self.size(t.type) * 8
                    cur = t.type
                elif isinstance(t, T.Ptr):
                    derefs.append(bits // 8)
                    bits = tok * self.size(t.type) * 8
                    cur = t.type
                else:
                    raise BtfNotFound(f"{self.name}: {where()} is a {self.type_name(cur)}; "
                                      f"it cannot be indexed with [{tok}]")
                done.append(f"[{tok}]")
                bf = 0
                continue
            if isinstance(t, T.Ptr):
                derefs.append(bits // 8)
                bits, cur = 0, t.type
            comp = self.type(self.resolve(cur))
            if not isinstance(comp, T.Struct):
                raise BtfNotFound(f"{self.name}: {where()} is a {self.type_name(cur)}, "
                                  f"not a struct or union; it has no member {tok!r}")
            f = self._find_member(comp, tok, 0)
            if f is None:
                raise BtfNotFound(f"{self.name}: {self.type_name(cur)} has no member {tok!r} "
                                  f"(in {path!r})")
            bits += f.bit_offset
            cur, bf = f.type, f.bitfield_size
            done.append("." + tok)
        names = tuple(d.lstrip(".") for d in done)
        return T.Field(names[-1] if names else "", cur, bits, bf, names, tuple(derefs))

    # ---- C spelling ---------------------------------------------------------------------

    def type_name(self, tid: int) -> str:
        """C spelling of a type: ``struct task_struct *``, ``char [16]``."""
        from .cdump import decl

        return decl(self, tid, "")

    def decl(self, tid: int, name: str) -> str:
        """C declaration of ``name`` with type ``tid``: ``char comm[16]``."""
        from .cdump import decl

        return decl(self, tid, name)

    def __repr__(self) -> str:
        return f"Btf({self.name!r}, {self.nr_types} types)"


def essential_name(name: str) -> str:
    """Drop a CO-RE ``___flavor`` suffix."""
    i = name.find("___")
    return name[:i] if i > 0 else name


def _path_tokens(path: str) -> list[str | int]:
    """``a.b[2]->c`` -> ["a", "b", 2, "c"]."""
    out: list[str | int] = []
    for part in path.replace("->", ".").split("."):
        if not part:
            raise BtfNotFound(f"empty member name in path {path!r}")
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        while rest:
            idx, sep, rest = rest.partition("]")
            if not sep or not idx.strip().isdigit():
                raise BtfNotFound(f"bad index [{idx} in path {path!r}")
            out.append(int(idx))
            rest = rest.removeprefix("[")
    return out
