"""Hash maps: plain, per-CPU, LRU and LRU per-CPU (BPF_MAP_TYPE_*HASH).

Values live in bytearrays that keep their identity while the key exists, so a program's
pointer from ``bpf_map_lookup_elem`` stays valid across updates (the kernel updates
preallocated elements in place too). LRU maps evict the least recently used key when a
new key arrives at a full map; a helper lookup (``value_buffer``) and any update count as
a use, a user-space lookup does not (the kernel's ``lookup_elem_sys_only``).
"""

from __future__ import annotations

import errno
from collections import OrderedDict
from typing import Generic, TypeVar

from ...mapapi import ANY, EXIST, NOEXIST
from ...spec import MapSpec
from .base import VmMap, check_sizes, check_update_flags

E = TypeVar("E")


class _HashBase(VmMap, Generic[E]):
    """Key → entry storage with kernel flag semantics and stable iteration."""

    lru = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        super().__init__(spec, ncpus)
        self._d: dict[bytes, E] = OrderedDict() if self.lru else {}
        self._keys: list[bytes] | None = None
        self._pos: dict[bytes, int] = {}

    # -- entry representation (per subclass) ---------------------------
    def _new_entry(self, values: list[bytes], cpu: int) -> E:
        raise NotImplementedError

    def _write_entry(self, entry: E, values: list[bytes], cpu: int) -> None:
        raise NotImplementedError

    def _entry_bytes(self, entry: E) -> bytes:
        raise NotImplementedError

    def _entry_buffer(self, entry: E, cpu: int) -> bytearray:
        raise NotImplementedError

    # -- helper-facing -------------------------------------------------
    def value_buffer(self, key: bytes, cpu: int = 0) -> bytearray | None:
        if type(key) is not bytes:
            key = bytes(key)
        entry = self._d.get(key)
        if entry is None:
            return None
        if self.lru:
            self._touch(key)
        return self._entry_buffer(entry, cpu)

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        return self._store(bytes(key), [value], flags, cpu)

    def helper_delete(self, key: bytes) -> int:
        if self._d.pop(bytes(key), None) is None:
            return -errno.ENOENT
        self._keys = None
        return 0

    def _store(self, key: bytes, values: list[bytes], flags: int, cpu: int) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        entry = self._d.get(key)
        if entry is not None:
            if flags == NOEXIST:
                return -errno.EEXIST
            self._write_entry(entry, values, cpu)
            if self.lru:
                self._touch(key)
            return 0
        if flags == EXIST:
            return -errno.ENOENT
        if len(self._d) >= self.max_entries:
            if not self.lru:
                return -errno.E2BIG
            self._d.popitem(last=False)  # type: ignore[call-arg]  # OrderedDict
        self._d[key] = self._new_entry(values, cpu)
        self._keys = None
        return 0

    def _touch(self, key: bytes) -> None:
        self._d.move_to_end(key)  # type: ignore[attr-defined]  # OrderedDict
        self._keys = None

    # -- user-facing ---------------------------------------------------
    def lookup_raw(self, key: bytes) -> bytes | None:
        entry = self._d.get(bytes(key))
        return None if entry is None else self._entry_bytes(entry)

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        if self._keys is None:
            self._keys = list(self._d)
            self._pos = {k: i for i, k in enumerate(self._keys)}
        keys = self._keys
        # Like the kernel: no key, or a key not in the map, restarts at the first key.
        pos = -1 if key is None else self._pos.get(bytes(key), -1)
        return keys[pos + 1] if pos + 1 < len(keys) else None

    def __len__(self) -> int:
        return len(self._d)


class HashMap(_HashBase[bytearray]):
    """BPF_MAP_TYPE_HASH."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec)
        super().__init__(spec, ncpus)

    def _new_entry(self, values: list[bytes], cpu: int) -> bytearray:
        return bytearray(values[0])

    def _write_entry(self, entry: bytearray, values: list[bytes], cpu: int) -> None:
        memoryview(entry)[:] = values[0]

    def _entry_bytes(self, entry: bytearray) -> bytes:
        return bytes(entry)

    def _entry_buffer(self, entry: bytearray, cpu: int) -> bytearray:
        return entry


class LruHashMap(HashMap):
    """BPF_MAP_TYPE_LRU_HASH (exact LRU; the kernel's is approximate per CPU)."""

    lru = True


class PercpuHashMap(_HashBase[list[bytearray]]):
    """BPF_MAP_TYPE_PERCPU_HASH: one value per CPU under each key."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, percpu=True)
        super().__init__(spec, ncpus)

    def _new_entry(self, values: list[bytes], cpu: int) -> list[bytearray]:
        if len(values) == self.ncpus:
            return [bytearray(v) for v in values]
        # A program's update sets its own CPU's copy; the others start zeroed.
        entry = [bytearray(self.value_size) for _ in range(self.ncpus)]
        memoryview(entry[cpu])[:] = values[0]
        return entry

    def _write_entry(self, entry: list[bytearray], values: list[bytes], cpu: int) -> None:
        if len(values) == self.ncpus:
            for buf, v in zip(entry, values, strict=True):
                memoryview(buf)[:] = v
        else:
            memoryview(entry[cpu])[:] = values[0]

    def _entry_bytes(self, entry: list[bytearray]) -> bytes:
        return self._join_percpu(entry)

    def _entry_buffer(self, entry: list[bytearray], cpu: int) -> bytearray:
        return entry[cpu]

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        return self._store(key, self._percpu_values(value), flags, 0)


class LruPercpuHashMap(PercpuHashMap):
    """BPF_MAP_TYPE_LRU_PERCPU_HASH."""

    lru = True
