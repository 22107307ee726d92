"""Kernel maps: create from a MapSpec, element and batch operations, queue/stack, freeze, pin.

A ``KernelMap`` owns one map fd: ``close()``, ``with`` or garbage collection
(a weakref finalizer) closes it, so no map outlives the Python object unless
pinned. Typed access (codecs, dict protocol, per-CPU lists) comes from
``pybpf.mapapi.Map``; this module supplies the raw bytes from the kernel.
"""

from __future__ import annotations

import ctypes
import errno as E
import functools
import weakref

from ..mapapi import ANY, PERCPU_TYPES, Map, MapError
from ..spec import MapSpec
from ..uapi import Cmd, MapType
from .errors import BpfError, BpfInvalid, error_for
from .syscall import (
    MapBatchAttr,
    MapCreateAttr,
    MapElemAttr,
    addr_of,
    bpf,
    bpf_raw,
    close_fd,
    obj_name,
)

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

F_NO_PREALLOC = 1 << 0
F_RDONLY_PROG = 1 << 7
F_MMAPABLE = 1 << 10
F_INNER_MAP = 1 << 12

# Map types whose values user space writes as an fd (u32) of another object.
FD_VALUE_TYPES = frozenset({
    MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.SOCKMAP, MapType.SOCKHASH, MapType.XSKMAP,
    MapType.REUSEPORT_SOCKARRAY,
})
# Types with no key: push/pop/peek (queue, stack) or add/contains (bloom filter).
KEYLESS_TYPES = frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})
# Types without BPF_MAP_GET_NEXT_KEY: the keyless ones and the ring buffers.
NO_ITERATION_TYPES = KEYLESS_TYPES | {MapType.RINGBUF, MapType.USER_RINGBUF}
# Types BPF_MAP_LOOKUP_BATCH supports (kernel: htab and array map_ops).
BATCH_TYPES = frozenset({
    MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH,
    MapType.ARRAY, MapType.PERCPU_ARRAY,
})
HASH_TYPES = frozenset({MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH,
                        MapType.LRU_PERCPU_HASH})

_BATCH_BYTES = 16 << 20  # buffer budget per batch syscall


@functools.cache
def possible_cpus() -> int:
    """How many CPUs the kernel sizes per-CPU values for (/sys/devices/system/cpu/possible)."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        import os

        return os.cpu_count() or 1
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += (int(hi) - int(lo) + 1) if hi else 1
    return n


def _prepare_spec(spec: MapSpec) -> MapSpec:
    """Fill what a type requires so a plain spec works (like libbpf does)."""
    s = spec.copy()
    if s.type == MapType.LPM_TRIE:
        s.flags |= F_NO_PREALLOC
    if s.type in (MapType.PERF_EVENT_ARRAY,) and s.max_entries == 0:
        s.max_entries = possible_cpus()
    if s.type == MapType.PERF_EVENT_ARRAY:
        s.key_size = s.key_size or 4
        s.value_size = s.value_size or 4
    if s.type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        s.key_size = 0
        s.value_size = 0
    return s


_FD_KV4 = {MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY,
           MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS}


def create_hint(s: MapSpec) -> str | None:
    """Why BPF_MAP_CREATE said EINVAL for ``s``, from the kernel's per-type rules, or None."""
    import os

    t, k, v, n = s.type, s.key_size, s.value_size, s.max_entries
    if t in (MapType.RINGBUF, MapType.USER_RINGBUF):
        page = os.sysconf("SC_PAGE_SIZE")
        if n < page or n & (n - 1):
            return (f"max_entries must be a power-of-2 multiple of the page size ({page}), "
                    f"got {n}")
        return None
    if t in KEYLESS_TYPES:
        if k:
            return f"key_size must be 0 for {t.name.lower()} maps, got {k}"
        if not v:
            return "value_size must be > 0"
        if t == MapType.BLOOM_FILTER and s.map_extra > 15:
            return f"map_extra (number of hashes) must be at most 15, got {s.map_extra}"
        return None
    if not n and t not in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE,
                           MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
                           MapType.CGRP_STORAGE):
        return "max_entries must be > 0"
    if t in (MapType.ARRAY, MapType.PERCPU_ARRAY) or t in _FD_KV4 and t != MapType.HASH_OF_MAPS:
        if k != 4:
            return f"key_size must be 4 (a u32 index) for {t.name.lower()} maps, got {k}"
    if t in _FD_KV4 and v != 4:
        return f"value_size must be 4 (an fd) for {t.name.lower()} maps, got {v}"
    if t == MapType.STACK_TRACE and (k != 4 or not v or v % 8):
        return f"a stack trace map needs key_size 4 and value_size a multiple of 8 (got {k}/{v})"
    if t == MapType.LPM_TRIE:
        if not 5 <= k <= 260:
            return f"LPM trie key_size must be 4 (prefix length) + 1..256 data bytes, got {k}"
        if not s.flags & F_NO_PREALLOC:
            return "an LPM trie needs BPF_F_NO_PREALLOC in flags"
    if not k and t not in _FD_KV4:
        return f"key_size must be > 0 for {t.name.lower()} maps"
    if not v:
        return "value_size must be > 0"
    if t in PERCPU_TYPES and v > 32768:
        return f"per-CPU values are limited to 32768 bytes, got {v}"
    return None


class KernelMap(Map):
    """A live kernel map behind one fd owned by this object."""

    def __init__(self, fd: int, *, name: str, type: MapType, key_size: int, value_size: int,
                 max_entries: int, flags: int = 0, spec: MapSpec | None = None,
                 map_id: int = 0) -> None:
        self.fd = fd
        self.name = name
        self.type = MapType(type)
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.spec = spec
        self._id = map_id
        self.ncpus = possible_cpus() if self.type in PERCPU_TYPES else 1
        self._finalizer = weakref.finalize(self, close_fd, fd)
        super().__init__()
        if spec is not None and (spec.key_type is not None or spec.value_type is not None):
            try:
                self.typed(spec.key_type, spec.value_type)
            except MapError:
                pass  # a BTF type, not a codec: leave raw

    # -- construction ----------------------------------------------------
    @classmethod
    def create(cls, spec: MapSpec, *, inner: KernelMap | None = None, btf_fd: int = 0,
               inner_map_fd: int | None = None) -> KernelMap:
        """BPF_MAP_CREATE from ``spec``. Map-in-map specs create their inner template first
        unless ``inner``/``inner_map_fd`` is given. Does not write contents (see ``load_map``)."""
        s = _prepare_spec(spec)
        tmpl = inner
        if s.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) and inner_map_fd is None:
            if tmpl is None:
                if s.inner is None:
                    raise MapError(f"map {s.name!r}: a map of maps needs an inner map spec")
                tmpl = cls.create(s.inner)
            inner_map_fd = tmpl.fd
        attr = MapCreateAttr(
            map_type=int(s.type), key_size=s.key_size, value_size=s.value_size,
            max_entries=s.max_entries, map_flags=s.flags, map_name=obj_name(s.name),
            inner_map_fd=inner_map_fd or 0, map_extra=s.map_extra,
        )
        if s.numa_node is not None:
            attr.numa_node = s.numa_node
            attr.map_flags |= 1 << 2  # BPF_F_NUMA_NODE
        if btf_fd and (s.btf_key_type_id or s.btf_value_type_id):
            attr.btf_fd = btf_fd
            attr.btf_key_type_id = s.btf_key_type_id
            attr.btf_value_type_id = s.btf_value_type_id
        try:
            fd, err = bpf_raw(Cmd.MAP_CREATE, attr)
            if err:
                what = f"map {s.name!r} ({s.type.name.lower()})"
                hint = create_hint(s) if err == E.EINVAL else None
                if hint:
                    raise BpfInvalid(f"creating {what}: {hint}", err, Cmd.MAP_CREATE)
                raise error_for(Cmd.MAP_CREATE, err, what)
        finally:
            if tmpl is not None and tmpl is not inner:
                tmpl.close()  # the kernel copied what it needs from the template
        return cls(fd, name=s.name, type=s.type, key_size=s.key_size, value_size=s.value_size,
                   max_entries=s.max_entries, flags=int(attr.map_flags), spec=spec)

    @classmethod
    def from_fd(cls, fd: int, *, owned: bool = True) -> KernelMap:
        """Wrap an existing map fd (taking ownership unless ``owned`` is False: then dup it)."""
        import os

        from .info import map_details

        if not owned:
            fd = os.dup(fd)
        try:
            d = map_details(fd)
        except BaseException:
            close_fd(fd)
            raise
        return cls(fd, name=d.name, type=MapType(d.type), key_size=d.key_size,
                   value_size=d.value_size, max_entries=d.max_entries, flags=d.flags,
                   map_id=d.id)

    @classmethod
    def from_id(cls, map_id: int) -> KernelMap:
        from .info import fd_by_id

        return cls.from_fd(fd_by_id("map", map_id))

    @classmethod
    def open_pinned(cls, path: str) -> KernelMap:
        from .pin import obj_get

        return cls.from_fd(obj_get(path))

    def typed(self, key: Any = None, value: Any = None) -> KernelMap:
        """Set the key and value codecs (see ``pybpf.mapapi.as_codec``); returns self."""
        super().typed(key, value)
        return self

    def __enter__(self) -> KernelMap:
        return self

    # -- identity / lifetime --------------------------------------------
    @property
    def id(self) -> int:
        if not self._id:
            from .info import map_details

            self._id = map_details(self._checked_fd()).id
        return self._id

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    def _checked_fd(self) -> int:
        if not self._finalizer.alive:
            raise MapError(f"map {self.name!r} is closed")
        return self.fd

    def _what(self) -> str:
        return f"map {self.name!r}"

    def pin(self, path: str) -> None:
        from .pin import obj_pin

        obj_pin(self._checked_fd(), path)

    def unpin(self, path: str) -> None:
        from .pin import unpin

        unpin(path)

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: user space may no longer write the map (programs may, unless
        created with BPF_F_RDONLY_PROG)."""
        attr = MapElemAttr(map_fd=self._checked_fd())
        bpf(Cmd.MAP_FREEZE, attr, what=self._what())

    # -- raw element operations -----------------------------------------
    @property
    def value_buf_size(self) -> int:
        return self.value_stride * self.ncpus if self.percpu else self.value_size

    def _elem(self, cmd: Cmd, key: bytes | None, value: Any = None,
              flags: int = 0) -> tuple[int, int]:
        kbuf = ctypes.create_string_buffer(key, len(key)) if key else None
        attr = MapElemAttr(map_fd=self._checked_fd(), key=addr_of(kbuf),
                           value=addr_of(value), flags=flags)
        return bpf_raw(cmd, attr)

    def _check_key(self, key: bytes | None) -> None:
        if key is not None and len(key) != self.key_size:
            raise MapError(f"map {self.name!r}: key is {len(key)} bytes, expected {self.key_size}")

    def lookup_raw(self, key: bytes) -> bytes | None:
        self._check_key(key)
        vbuf = ctypes.create_string_buffer(max(self.value_buf_size, 1))
        _, err = self._elem(Cmd.MAP_LOOKUP_ELEM, key if self.key_size else None, vbuf)
        if err == E.ENOENT:
            return None
        if err:
            raise error_for(Cmd.MAP_LOOKUP_ELEM, err, self._what())
        return vbuf.raw[: self.value_buf_size]

    def lookup_errno(self, key: bytes) -> tuple[bytes | None, int]:
        """(value, 0) or (None, errno): a lookup that reports why instead of raising."""
        vbuf = ctypes.create_string_buffer(max(self.value_buf_size, 1))
        _, err = self._elem(Cmd.MAP_LOOKUP_ELEM, key or None, vbuf)
        return (None, err) if err else (vbuf.raw[: self.value_buf_size], 0)

    def lookup_flags_raw(self, key: bytes, flags: int) -> bytes | None:
        """Lookup with flags (BPF_F_LOCK)."""
        vbuf = ctypes.create_string_buffer(max(self.value_buf_size, 1))
        _, err = self._elem(Cmd.MAP_LOOKUP_ELEM, key or None, vbuf, flags)
        if err == E.ENOENT:
            return None
        if err:
            raise error_for(Cmd.MAP_LOOKUP_ELEM, err, self._what())
        return vbuf.raw[: self.value_buf_size]

    def update_raw(self, key: bytes, value: bytes, flags: int = ANY) -> None:
        self._check_key(key if self.key_size else None)
        if self.percpu and len(value) == self.value_size != self.value_buf_size:
            # one value for every CPU, as the vm maps accept too
            value = (bytes(value) + bytes(self.value_stride - self.value_size)) * self.ncpus
        if len(value) != self.value_buf_size:
            raise MapError(f"map {self.name!r}: value is {len(value)} bytes, "
                           f"expected {self.value_buf_size}")
        vbuf = ctypes.create_string_buffer(value, max(len(value), 1))
        _, err = self._elem(Cmd.MAP_UPDATE_ELEM, key if self.key_size else None, vbuf, flags)
        if err == E.EINVAL and self.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            raise BpfInvalid(f"updating {self._what()}: invalid argument: the inner map does "
                             "not match this map's inner template (type, key/value size, "
                             "max_entries, flags)", err, Cmd.MAP_UPDATE_ELEM)
        if err:
            raise error_for(Cmd.MAP_UPDATE_ELEM, err, self._what())

    def delete_raw(self, key: bytes) -> bool:
        self._check_key(key)
        _, err = self._elem(Cmd.MAP_DELETE_ELEM, key, None)
        if err == E.ENOENT:
            return False
        if err:
            raise error_for(Cmd.MAP_DELETE_ELEM, err, self._what())
        return True

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        if self.type in NO_ITERATION_TYPES:  # the kernel's EINVAL/ENOTSUPP would not say why
            how = ("read it with a ring buffer reader" if self.type == MapType.RINGBUF
                   else "use pop()/peek()" if self.type != MapType.BLOOM_FILTER
                   else "use contains_value()")
            raise BpfInvalid(f"map {self.name!r} ({self.type.name.lower()}) has no keys, so "
                             f"it cannot be iterated or counted: {how}", E.EINVAL,
                             Cmd.MAP_GET_NEXT_KEY)
        if key is not None:
            self._check_key(key)
        nbuf = ctypes.create_string_buffer(max(self.key_size, 1))
        _, err = self._elem(Cmd.MAP_GET_NEXT_KEY, key, nbuf)
        if err == E.ENOENT:
            return None
        if err:
            raise error_for(Cmd.MAP_GET_NEXT_KEY, err, self._what())
        return nbuf.raw[: self.key_size]

    def lookup_and_delete_raw(self, key: bytes | None) -> bytes | None:
        """BPF_MAP_LOOKUP_AND_DELETE_ELEM: pop (queue/stack with key None) or take a hash entry."""
        vbuf = ctypes.create_string_buffer(max(self.value_buf_size, 1))
        _, err = self._elem(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, key or None, vbuf)
        if err == E.ENOENT:
            return None
        if err:
            raise error_for(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, err, self._what())
        return vbuf.raw[: self.value_buf_size]

    # -- typed overrides: fd values, keyless maps ------------------------
    def _encode_value(self, value: Any) -> bytes:
        if self.type in FD_VALUE_TYPES:
            fd = getattr(value, "fd", value)
            if isinstance(fd, int):
                return int(fd).to_bytes(self.value_size, "little")
        return super()._encode_value(value)

    def contains_value(self, value: Any) -> bool:
        """Bloom filter: True if ``value`` may be in the set (False: surely not)."""
        if self.type != MapType.BLOOM_FILTER:
            return super().contains_value(value)  # raises: names the map type
        vbuf = ctypes.create_string_buffer(self._encode_value(value), self.value_size)
        _, err = self._elem(Cmd.MAP_LOOKUP_ELEM, None, vbuf)
        if err == E.ENOENT:
            return False
        if err:
            raise error_for(Cmd.MAP_LOOKUP_ELEM, err, self._what())
        return True

    # -- batch operations -------------------------------------------------
    def _batch_count(self, chunk: int | None) -> int:
        per = max(self.key_size, 1) + max(self.value_buf_size, 1)
        n = chunk or max(1, min(self.max_entries, _BATCH_BYTES // per))
        return max(1, min(n, self.max_entries))

    def lookup_batch_raw(self, *, delete: bool = False,
                         chunk: int | None = None) -> Iterator[tuple[bytes, bytes, int]]:
        """Read the whole map with BPF_MAP_LOOKUP(_AND_DELETE)_BATCH.

        Yields (keys, values, count) per syscall: ``count`` keys of ``key_size`` bytes
        back to back, and their values (``value_buf_size`` each). Raises ``BpfError``
        (errno EINVAL/ENOTSUPP) if the map type has no batch support.
        """
        cmd = Cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else Cmd.MAP_LOOKUP_BATCH
        count = self._batch_count(chunk)
        ksz, vsz = self.key_size, self.value_buf_size
        tok = max(self.key_size, 8)
        in_b = ctypes.create_string_buffer(tok)
        out_b = ctypes.create_string_buffer(tok)
        first = True
        while True:
            keys = ctypes.create_string_buffer(ksz * count)
            vals = ctypes.create_string_buffer(vsz * count)
            attr = MapBatchAttr(
                in_batch=0 if first else addr_of(in_b), out_batch=addr_of(out_b),
                keys=addr_of(keys), values=addr_of(vals), count=count,
                map_fd=self._checked_fd(),
            )
            _, err = bpf_raw(cmd, attr)
            got = int(attr.count)
            if err == E.ENOSPC and got == 0:
                count *= 2  # one hash bucket holds more than count entries
                continue
            if err and err != E.ENOENT:
                raise error_for(cmd, err, self._what())
            if got:
                yield keys.raw[: ksz * got], vals.raw[: vsz * got], got
            if err == E.ENOENT:
                return
            ctypes.memmove(in_b, out_b, tok)
            first = False

    def supports_batch(self) -> bool:
        return self.type in BATCH_TYPES

    def items_raw(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) bytes for every entry: batch reads where the type supports them."""
        if self.supports_batch():
            try:
                for keys, vals, got in self.lookup_batch_raw():
                    ksz, vsz = self.key_size, self.value_buf_size
                    for i in range(got):
                        yield keys[i * ksz:(i + 1) * ksz], vals[i * vsz:(i + 1) * vsz]
                return
            except BpfError as e:
                if e.errno not in (E.EINVAL, E.ENOTSUP, 524):
                    raise
        for k in list(self.keys_raw()):
            raw = self.lookup_raw(k)
            if raw is not None:
                yield k, raw

    def items(self) -> Iterator[tuple[Any, Any]]:
        kd, vd = self.key_codec.decode, self._decode_value
        for k, v in self.items_raw():
            yield kd(k), vd(v)

    def drain(self) -> list[tuple[Any, Any]]:
        """Read and delete every entry (BPF_MAP_LOOKUP_AND_DELETE_BATCH on hash maps)."""
        kd, vd = self.key_codec.decode, self._decode_value
        out: list[tuple[Any, Any]] = []
        if self.type in HASH_TYPES:
            ksz, vsz = self.key_size, self.value_buf_size
            for keys, vals, got in self.lookup_batch_raw(delete=True):
                out.extend((kd(keys[i * ksz:(i + 1) * ksz]), vd(vals[i * vsz:(i + 1) * vsz]))
                           for i in range(got))
            return out
        for k, v in list(self.items_raw()):
            self.delete_raw(k)
            out.append((kd(k), vd(v)))
        return out

    def update_batch_raw(self, keys: bytes, values: bytes, count: int, flags: int = ANY) -> int:
        """BPF_MAP_UPDATE_BATCH: ``count`` keys and values back to back; returns how many
        were written."""
        if len(keys) != count * self.key_size or len(values) != count * self.value_buf_size:
            raise MapError(f"map {self.name!r}: batch buffers do not hold {count} entries")
        kb = ctypes.create_string_buffer(keys, max(len(keys), 1))
        vb = ctypes.create_string_buffer(values, max(len(values), 1))
        attr = MapBatchAttr(keys=addr_of(kb), values=addr_of(vb), count=count,
                            map_fd=self._checked_fd(), elem_flags=flags)
        _, err = bpf_raw(Cmd.MAP_UPDATE_BATCH, attr)
        if err:
            raise error_for(Cmd.MAP_UPDATE_BATCH, err, self._what())
        return int(attr.count)

    def update_batch(self, items: Any, flags: int = ANY) -> int:
        """Write many (key, value) pairs (a dict or iterable) with one BPF_MAP_UPDATE_BATCH."""
        pairs = list(items.items() if hasattr(items, "items") else items)
        if not pairs:
            return 0
        ke, ve = self.key_codec.encode, self._encode_value
        keys = b"".join(ke(k) for k, _ in pairs)
        vals = b"".join(ve(v) for _, v in pairs)
        return self.update_batch_raw(keys, vals, len(pairs), flags)

    def delete_batch_raw(self, keys: bytes, count: int) -> int:
        kb = ctypes.create_string_buffer(keys, max(len(keys), 1))
        attr = MapBatchAttr(keys=addr_of(kb), count=count, map_fd=self._checked_fd())
        _, err = bpf_raw(Cmd.MAP_DELETE_BATCH, attr)
        if err and err != E.ENOENT:
            raise error_for(Cmd.MAP_DELETE_BATCH, err, self._what())
        return int(attr.count)

    def delete_batch(self, keys: Any) -> int:
        """Delete many keys with one BPF_MAP_DELETE_BATCH; returns how many were deleted
        (it stops at the first missing key)."""
        ks = [self.key_codec.encode(k) for k in keys]
        return self.delete_batch_raw(b"".join(ks), len(ks)) if ks else 0

    def clear(self) -> None:
        if self.type in HASH_TYPES:
            keys = [k for k, _ in self.items_raw()]
            if keys:
                self.delete_batch_raw(b"".join(keys), len(keys))
            return
        super().clear()

    def __len__(self) -> int:
        if self.supports_batch():
            return sum(1 for _ in self.items_raw())
        return super().__len__()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fd}"
        return (f"<KernelMap {self.name!r} {self.type.name.lower()} key={self.key_size} "
                f"value={self.value_size} max={self.max_entries} {state}>")


def load_map(spec: MapSpec, *, btf_fd: int = 0, inner: KernelMap | None = None) -> KernelMap:
    """Create the map, write its initial contents, freeze it if the spec asks, pin if
    ``spec.pin_path``; closes the map again if any step fails."""
    m = KernelMap.create(spec, btf_fd=btf_fd, inner=inner)
    try:
        if spec.contents:
            if m.type in KEYLESS_TYPES:
                for _k, v in spec.contents:
                    m.update_raw(b"", v)
            else:
                for k, v in spec.contents:
                    m.update_raw(k, v)
        if spec.freeze:
            m.freeze()
        if spec.pin_path:
            m.pin(spec.pin_path)
    except BaseException:
        m.close()
        raise
    return m


def create_map(spec: MapSpec, **kw: Any) -> KernelMap:
    """Alias of ``load_map`` (the name other modules may expect)."""
    return load_map(spec, **kw)
