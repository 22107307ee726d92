"""Array maps: BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY.

Every index in ``0..max_entries-1`` always exists (zeroed at creation), so NOEXIST fails
with EEXIST, delete fails with EINVAL and an index past the end is E2BIG on update and
"not found" on lookup, as in the kernel. Values are created lazily on first touch so a
large array costs nothing until used.
"""

from __future__ import annotations

import errno

from ...mapapi import ANY, NOEXIST
from ...spec import MapSpec
from .base import VmMap, check_sizes, check_update_flags, index_of, u32


class _ArrayBase(VmMap):
    def _check_update(self, key: bytes, flags: int) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        if index_of(key) >= self.max_entries:
            return -errno.E2BIG
        if flags == NOEXIST:
            return -errno.EEXIST
        return 0

    def helper_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        idx = -1 if key is None else index_of(key)
        if idx >= self.max_entries:
            idx = -1  # a key past the end restarts at index 0, as the kernel does
        return u32(idx + 1) if idx + 1 < self.max_entries else None

    def __len__(self) -> int:
        return self.max_entries


class ArrayMap(_ArrayBase):
    """BPF_MAP_TYPE_ARRAY: a u32 index → value, all entries present."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=4)
        super().__init__(spec, ncpus)
        self._values: dict[int, bytearray] = {}

    def _buf(self, idx: int) -> bytearray:
        buf = self._values.get(idx)
        if buf is None:
            buf = self._values[idx] = bytearray(self.value_size)
        return buf

    def value_buffer(self, key: bytes, cpu: int = 0) -> bytearray | None:
        idx = index_of(key)
        return self._buf(idx) if idx < self.max_entries else None

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        err = self._check_update(key, flags)
        if err:
            return err
        memoryview(self._buf(index_of(key)))[:] = value
        return 0

    def lookup_raw(self, key: bytes) -> bytes | None:
        idx = index_of(key)
        if idx >= self.max_entries or len(key) != 4:
            return None
        buf = self._values.get(idx)
        return bytes(buf) if buf is not None else bytes(self.value_size)


class PercpuArrayMap(_ArrayBase):
    """BPF_MAP_TYPE_PERCPU_ARRAY: each index holds one value per CPU."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=4, percpu=True)
        super().__init__(spec, ncpus)
        self._values: dict[int, list[bytearray]] = {}

    def _bufs(self, idx: int) -> list[bytearray]:
        bufs = self._values.get(idx)
        if bufs is None:
            bufs = self._values[idx] = [bytearray(self.value_size) for _ in range(self.ncpus)]
        return bufs

    def value_buffer(self, key: bytes, cpu: int = 0) -> bytearray | None:
        idx = index_of(key)
        return self._bufs(idx)[cpu] if idx < self.max_entries else None

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        err = self._check_update(key, flags)
        if err:
            return err
        memoryview(self._bufs(index_of(key))[cpu])[:] = value
        return 0

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        values = self._percpu_values(value)
        err = self._check_update(key, flags)
        if err:
            return err
        for buf, v in zip(self._bufs(index_of(key)), values, strict=True):
            memoryview(buf)[:] = v
        return 0

    def lookup_raw(self, key: bytes) -> bytes | None:
        idx = index_of(key)
        if idx >= self.max_entries or len(key) != 4:
            return None
        bufs = self._values.get(idx)
        if bufs is None:
            return bytes(self.value_stride * self.ncpus)
        return self._join_percpu(bufs)
