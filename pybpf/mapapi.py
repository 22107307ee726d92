"""The one Map interface both backends implement, and key/value codecs.

A backend implements the raw byte-level operations (``_lookup``, ``_update``,
``_delete``, ``_next_key``); this base class adds the Python-facing surface:
codecs so users read ``map[pid] -> Event(pid=..., comm=...)`` instead of bytes,
dict-like access, iteration and per-CPU values as one list per CPU.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections import namedtuple

from .errors import PybpfError
from .uapi import MapType

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

# Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
ANY = 0
NOEXIST = 1
EXIST = 2
F_LOCK = 4

PERCPU_TYPES = frozenset(
    {MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
     MapType.PERCPU_CGROUP_STORAGE}
)


class MapError(PybpfError):
    """A map operation failed; the message says which map and why (a user error: one line)."""


class Codec:
    """Turns Python values into a map's key or value bytes and back."""

    size: int

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, raw: bytes) -> Any:
        raise NotImplementedError


class RawCodec(Codec):
    """Bytes as they are; ints are accepted on the way in (little-endian, zero-padded)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def encode(self, value: Any) -> bytes:
        if isinstance(value, int):
            return (value & ((1 << (8 * self.size)) - 1)).to_bytes(self.size, "little")
        raw = bytes(value)
        if len(raw) != self.size:
            raise MapError(f"expected {self.size} bytes, got {len(raw)}")
        return raw

    def decode(self, raw: bytes) -> Any:
        return bytes(raw)


class IntCodec(Codec):
    """An integer of 1, 2, 4 or 8 bytes, little-endian."""

    def __init__(self, size: int, signed: bool = False) -> None:
        self.size = size
        self.signed = signed

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, int):
            raise MapError(f"expected an integer, got {type(value).__name__}")
        try:
            return value.to_bytes(self.size, "little", signed=self.signed)
        except OverflowError:
            raise MapError(f"{value} does not fit in {self.size} bytes") from None

    def decode(self, raw: bytes) -> Any:
        return int.from_bytes(raw, "little", signed=self.signed)


class StructCodec(Codec):
    """A C struct described by a ``struct`` format and field names; decodes to a named tuple.

    ``bytes`` fields (format ``Ns``) that hold C strings are decoded up to the first NUL
    when named in ``strings``.
    """

    def __init__(self, fmt: str, names: Sequence[str], *, strings: Sequence[str] = (),
                 typename: str = "Record") -> None:
        if fmt[:1] not in "<>=!@":
            fmt = "<" + fmt
        self._struct = struct.Struct(fmt)
        self.size = self._struct.size
        self.names = tuple(names)
        self._strings = {self.names.index(s) for s in strings}
        self.type = namedtuple(typename, self.names)  # type: ignore[misc]  # noqa: PYI024

    def encode(self, value: Any) -> bytes:
        fields = ", ".join(self.names)
        if isinstance(value, dict):
            missing = [n for n in self.names if n not in value]
            if missing:
                raise MapError(f"{self.type.__name__}: missing field(s) {', '.join(missing)} "
                               f"(fields: {fields})")
            value = [value[n] for n in self.names]
        try:
            vals = [v.encode() if isinstance(v, str) else v for v in value]
            return self._struct.pack(*vals)
        except (struct.error, TypeError) as e:
            raise MapError(f"{self.type.__name__}({fields}) with format "
                           f"{self._struct.format!r}: cannot pack {value!r}: {e}") from None

    def decode(self, raw: bytes) -> Any:
        vals = list(self._struct.unpack(raw))
        for i in self._strings:
            vals[i] = vals[i].split(b"\0", 1)[0].decode(errors="replace")
        return self.type(*vals)


class CtypesCodec(Codec):
    """A ctypes Structure/Union/array or simple type (c_uint32, ...).

    Values may be given as an instance, as what the type's constructor takes (an int for
    a simple type, a tuple of fields for a structure); simple types decode to plain
    Python values so decoded keys compare and hash like ints.
    """

    def __init__(self, ctype: Any) -> None:
        import ctypes

        self.ctype = ctype
        self.size = ctypes.sizeof(ctype)
        self.simple = issubclass(ctype, ctypes._SimpleCData)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, self.ctype):
            try:
                value = self.ctype(*value) if isinstance(value, tuple) else self.ctype(value)
            except (TypeError, ValueError) as e:
                raise MapError(f"cannot make a {self.ctype.__name__} from {value!r}: {e}") \
                    from None
        return bytes(value)

    def decode(self, raw: bytes) -> Any:
        v = self.ctype.from_buffer_copy(raw)
        return v.value if self.simple else v


def _int_width(name: str) -> str | None:
    """The bit width of 'u32', 's8', 'int64', 'uint' ... ("" for none); None if not one."""
    for prefix in ("uint", "int", "u", "s", "i"):
        if name.startswith(prefix):
            bits = name[len(prefix):]
            return bits if bits in ("", "8", "16", "32", "64") else None
    return None


def as_codec(spec: Any, size: int) -> Codec:
    """A codec from what a user passes: None (raw), a Codec, 'int'/'u32'..., or a ctypes type."""
    if spec is None:
        return RawCodec(size)
    if isinstance(spec, Codec):
        if spec.size != size:
            raise MapError(f"codec describes {spec.size} bytes but the map holds {size}")
        return spec
    if spec is int or spec == "int":
        return IntCodec(size)
    if isinstance(spec, str):
        width = _int_width(spec)
        if width is None:
            raise MapError(f"unknown codec {spec!r}: use 'int', u8/u16/u32/u64, s8..s64, "
                           "i8..i64, a StructCodec or a ctypes type")
        signed = spec[0] in "si"
        bits = int(width or 8 * size)
        if bits // 8 != size:
            raise MapError(f"{spec} is {bits // 8} bytes but the map holds {size}")
        return IntCodec(size, signed)
    try:
        codec = CtypesCodec(spec)
    except TypeError:
        raise MapError(f"unknown codec {spec!r}: use 'int', u8/u16/u32/u64, s8..s64, "
                       "i8..i64, a StructCodec or a ctypes type") from None
    if codec.size != size:
        raise MapError(f"{spec.__name__} is {codec.size} bytes but the map holds {size}")
    return codec


class Map(ABC):
    """A live map in some backend. Keys and values pass through the codecs."""

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    ncpus: int = 1

    def __init__(self) -> None:
        self.key_codec: Codec = RawCodec(self.key_size)
        self.value_codec: Codec = RawCodec(self.value_size)

    # -- what a backend provides (raw bytes) ---------------------------
    @abstractmethod
    def lookup_raw(self, key: bytes) -> bytes | None:
        """The value bytes (per-CPU maps: all CPUs' values concatenated, 8-byte aligned)."""

    @abstractmethod
    def update_raw(self, key: bytes, value: bytes, flags: int = ANY) -> None: ...

    @abstractmethod
    def delete_raw(self, key: bytes) -> bool:
        """Remove ``key``; False if it was not there."""

    @abstractmethod
    def next_key_raw(self, key: bytes | None) -> bytes | None:
        """The key after ``key`` (the first with None); None at the end."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release the map's resources."""

    # -- typed surface -------------------------------------------------
    def typed(self, key: Any = None, value: Any = None) -> Map:
        """Set the key and value codecs (see ``as_codec``); returns self."""
        if key is not None:
            self.key_codec = as_codec(key, self.key_size)
        if value is not None:
            self.value_codec = as_codec(value, self.value_size)
        return self

    @property
    def percpu(self) -> bool:
        return self.type in PERCPU_TYPES

    @property
    def value_stride(self) -> int:
        """Bytes per CPU in a per-CPU value buffer (the kernel rounds up to 8)."""
        return (self.value_size + 7) & ~7

    def _decode_value(self, raw: bytes) -> Any:
        if not self.percpu:
            return self.value_codec.decode(raw)
        s = self.value_stride
        n = self.value_size
        return [self.value_codec.decode(raw[i * s:i * s + n]) for i in range(self.ncpus)]

    def _encode_value(self, value: Any) -> bytes:
        if not self.percpu:
            return self.value_codec.encode(value)
        if isinstance(value, list):
            if len(value) != self.ncpus:
                raise MapError(f"map {self.name!r}: a per-CPU value is one value or a list of "
                               f"{self.ncpus} (one per CPU), got a list of {len(value)}")
        else:
            value = [value] * self.ncpus  # the same value on every CPU
        pad = b"\0" * (self.value_stride - self.value_size)
        return b"".join(self.value_codec.encode(v) + pad for v in value)

    def lookup(self, key: Any, default: Any = None) -> Any:
        raw = self.lookup_raw(self.key_codec.encode(key))
        return default if raw is None else self._decode_value(raw)

    def update(self, key: Any, value: Any, flags: int = ANY) -> None:
        self.update_raw(self.key_codec.encode(key), self._encode_value(value), flags)

    def delete(self, key: Any) -> bool:
        return self.delete_raw(self.key_codec.encode(key))

    def keys_raw(self) -> Iterator[bytes]:
        key = self.next_key_raw(None)
        seen = 0
        while key is not None:
            yield key
            seen += 1
            if seen > self.max_entries * 2 + 16:
                raise MapError(f"map {self.name!r}: iteration does not end")
            key = self.next_key_raw(key)

    def keys(self) -> Iterator[Any]:
        for k in self.keys_raw():
            yield self.key_codec.decode(k)

    def items(self) -> Iterator[tuple[Any, Any]]:
        for k in list(self.keys_raw()):
            raw = self.lookup_raw(k)
            if raw is not None:
                yield self.key_codec.decode(k), self._decode_value(raw)

    def values(self) -> Iterator[Any]:
        for _, v in self.items():
            yield v

    def clear(self) -> None:
        if self.type in (MapType.QUEUE, MapType.STACK):  # keyless: pop until empty
            while self.lookup_and_delete_raw(b"") is not None:
                pass
            return
        for k in list(self.keys_raw()):
            self.delete_raw(k)

    # -- keyless maps (queue, stack, bloom filter) ----------------------
    def lookup_and_delete_raw(self, key: bytes) -> bytes | None:
        """BPF_MAP_LOOKUP_AND_DELETE_ELEM (backends may do it in one step)."""
        raw = self.lookup_raw(key)
        if raw is not None:
            self.delete_raw(key)
        return raw

    def push(self, value: Any, flags: int = ANY) -> None:
        """Queue/stack: push a value (flags=EXIST overwrites the oldest when full).
        Bloom filter: add a value."""
        self.update_raw(b"", self._encode_value(value), flags)

    def pop(self, default: Any = None) -> Any:
        """Queue/stack: remove and return the next value (``default`` when empty)."""
        raw = self.lookup_and_delete_raw(b"")
        return default if raw is None else self._decode_value(raw)

    def peek(self, default: Any = None) -> Any:
        """Queue/stack: the next value without removing it (``default`` when empty)."""
        raw = self.lookup_raw(b"")
        return default if raw is None else self._decode_value(raw)

    def contains_value(self, value: Any) -> bool:
        """Bloom filter: True if ``value`` may be in the set (False: surely not)."""
        raise MapError(f"map {self.name!r}: contains_value is for bloom filter maps, "
                       f"not {self.type.name.lower()}")

    # -- batch operations (a backend may do each in one call) -----------
    def update_batch(self, items: Any, flags: int = ANY) -> int:
        """Write many (key, value) pairs (a dict or an iterable); returns how many."""
        pairs = list(items.items() if hasattr(items, "items") else items)
        for k, v in pairs:
            self.update(k, v, flags)
        return len(pairs)

    def delete_batch(self, keys: Any) -> int:
        """Delete many keys; returns how many were deleted (stops at the first missing key,
        as BPF_MAP_DELETE_BATCH does)."""
        n = 0
        for k in keys:
            if not self.delete(k):
                break
            n += 1
        return n

    def drain(self) -> list[tuple[Any, Any]]:
        """Read and delete every entry."""
        out = list(self.items())
        for k in list(self.keys_raw()):
            self.delete_raw(k)
        return out

    def to_dict(self) -> dict[Any, Any]:
        return dict(self.items())

    # dict protocol
    def __getitem__(self, key: Any) -> Any:
        raw = self.lookup_raw(self.key_codec.encode(key))
        if raw is None:
            raise KeyError(key)
        return self._decode_value(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self.lookup_raw(self.key_codec.encode(key)) is not None

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    def __len__(self) -> int:
        return sum(1 for _ in self.keys_raw())

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} {self.type.name.lower()} "
            f"key={self.key_size} value={self.value_size} max={self.max_entries}>"
        )
