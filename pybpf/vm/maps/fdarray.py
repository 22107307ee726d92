"""Maps whose values are other objects: PROG_ARRAY, PERF_EVENT_ARRAY, ARRAY/HASH_OF_MAPS.

In the kernel their values are file descriptors; here they are the Python objects
themselves (``set_program``, ``set_map``). User-space ``update_raw`` on a map-of-maps
accepts an inner map's ``id`` (the vm's stand-in for an fd) and ``lookup_raw`` answers
the id, as BPF_MAP_LOOKUP_ELEM answers the inner map's id.
"""

from __future__ import annotations

import errno

from ...mapapi import ANY, EXIST, NOEXIST, MapError
from ...spec import MapSpec
from ...uapi import MapType
from .base import (
    MapOpError,
    VmMap,
    check_sizes,
    check_update_flags,
    index_of,
    map_by_id,
    require,
    u32,
)

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

# BPF_F_INNER_MAP: inner maps may differ in max_entries from the template.
F_INNER_MAP = 1 << 12


class _IndexedBase(VmMap):
    """u32 index → object, every index in range; iterates like an array."""

    has_values = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        super().__init__(spec, ncpus)
        self._slots: dict[int, Any] = {}

    def _check_index(self, index: int, op: str) -> None:
        if not 0 <= index < self.max_entries:
            raise MapOpError(self.name, op, errno.E2BIG)

    def helper_delete(self, key: bytes) -> int:
        idx = index_of(key)
        if idx >= self.max_entries:
            return -errno.E2BIG
        return 0 if self._slots.pop(idx, None) is not None else -errno.ENOENT

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        idx = -1 if key is None else index_of(key)
        if idx >= self.max_entries:
            idx = -1
        return u32(idx + 1) if idx + 1 < self.max_entries else None

    def _slot_id(self, key: bytes) -> bytes | None:
        obj = self._slots.get(index_of(key))
        return None if obj is None else u32(getattr(obj, "id", 0))

    def lookup_raw(self, key: bytes) -> bytes | None:
        return self._slot_id(key)


class ProgArrayMap(_IndexedBase):
    """BPF_MAP_TYPE_PROG_ARRAY: the table bpf_tail_call jumps through."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=4, value=4)
        super().__init__(spec, ncpus)

    def set_program(self, index: int, program: Any) -> None:
        """Put ``program`` at ``index`` (None empties the slot)."""
        self._check_index(index, "set_program")
        if program is None:
            self._slots.pop(index, None)
        else:
            self._slots[index] = program

    def program_at(self, index: int) -> Any:
        """The program at ``index``, or None (a tail call then falls through)."""
        return self._slots.get(index)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        raise MapError(f"map {self.name!r}: programs go in with set_program(index, program)")


class PerfEventArrayMap(_IndexedBase):
    """BPF_MAP_TYPE_PERF_EVENT_ARRAY: bpf_perf_event_output records, one stream per CPU.

    Every index counts as having a perf event open. ``capacity`` (bytes per index, None
    = unbounded) makes outputs fail with -ENOSPC and count in ``lost`` when unread data
    would exceed it, like a full perf buffer.
    """

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        if spec.max_entries == 0:  # libbpf sizes it to the CPU count
            spec = spec.copy()
            spec.max_entries = ncpus
        check_sizes(spec, key=4, value=4)
        super().__init__(spec, ncpus)
        self._events: list[tuple[int, bytes]] = []
        self._pending: dict[int, int] = {}
        self.capacity: int | None = None
        self.lost = 0

    def output(self, cpu: int, data: bytes) -> int:
        """Record ``data`` on stream ``cpu``: 0, -E2BIG past max_entries, -ENOSPC when full."""
        if not 0 <= cpu < self.max_entries:
            return -errno.E2BIG
        pending = self._pending.get(cpu, 0) + len(data)
        if self.capacity is not None and pending > self.capacity:
            self.lost += 1
            return -errno.ENOSPC
        self._pending[cpu] = pending
        self._events.append((cpu, bytes(data)))
        return 0

    def consume(self) -> list[tuple[int, bytes]]:
        """Every record output so far, in output order, as (cpu, data)."""
        events, self._events = self._events, []
        self._pending.clear()
        return events

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        self._check_len("value", value, 4)
        idx = index_of(key)
        if idx >= self.max_entries:
            return -errno.E2BIG
        self._slots[idx] = int.from_bytes(value, "little")  # the "fd": kept, not used
        return 0

    def lookup_raw(self, key: bytes) -> bytes | None:
        return None  # the kernel does not let user space read this map


class _MapOfMapsMixin(VmMap):
    """Shared inner-map checks for array and hash of maps."""

    def _init_inner(self, spec: MapSpec) -> None:
        require(spec, spec.inner is not None,
                "a map of maps needs an inner map template (MapSpec.inner)")
        self.inner_spec: MapSpec = spec.inner  # type: ignore[assignment]

    def check_inner(self, inner: VmMap) -> None:
        """Raise MapError unless ``inner`` matches the template (as bpf_map_meta_equal)."""
        t = self.inner_spec
        problems = []
        if inner.type != MapType(t.type):
            problems.append(f"type {inner.type.name.lower()} != {MapType(t.type).name.lower()}")
        if (inner.key_size, inner.value_size) != (t.key_size, t.value_size):
            problems.append(f"key/value size {inner.key_size}/{inner.value_size} != "
                            f"{t.key_size}/{t.value_size}")
        if not t.flags & F_INNER_MAP and inner.max_entries != t.max_entries:
            problems.append(f"max_entries {inner.max_entries} != {t.max_entries} "
                            "(set BPF_F_INNER_MAP in the template to allow it)")
        if problems:
            raise MapError(f"map {self.name!r}: inner map {inner.name!r} does not match the "
                           f"template: {'; '.join(problems)}")

    def create_inner(self, name: str | None = None) -> VmMap:
        """A new empty map made from the inner template."""
        from . import create_map

        spec = self.inner_spec.copy()
        spec.name = name or f"{self.name}.inner"
        return create_map(spec, self.ncpus)

    def _encode_value(self, value: Any) -> bytes:
        """A typed update may give the inner map itself (the kernel backend takes a
        KernelMap the same way): it goes in as its id, the vm's stand-in for an fd."""
        if isinstance(value, VmMap):
            return u32(value.id)
        return super()._encode_value(value)

    def _resolve(self, value: bytes) -> VmMap | None:
        inner = map_by_id(int.from_bytes(value[:4], "little"))
        if inner is not None:
            self.check_inner(inner)
        return inner


class ArrayOfMapsMap(_IndexedBase, _MapOfMapsMixin):
    """BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 index → inner map."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=4, value=4)
        super().__init__(spec, ncpus)
        self._init_inner(spec)

    def set_map(self, index: int, inner: VmMap | None) -> None:
        self._check_index(index, "set_map")
        if inner is None:
            self._slots.pop(index, None)
            return
        self.check_inner(inner)
        self._slots[index] = inner

    def inner_map(self, key: bytes | int) -> VmMap | None:
        """What bpf_map_lookup_elem gives a program: the inner map, or None."""
        return self._slots.get(key if isinstance(key, int) else index_of(key))

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        idx = index_of(key)
        if idx >= self.max_entries:
            return -errno.E2BIG
        inner = self._resolve(value)
        if inner is None:
            return -errno.EBADF
        self._slots[idx] = inner
        return 0


class HashOfMapsMap(_MapOfMapsMixin):
    """BPF_MAP_TYPE_HASH_OF_MAPS: key → inner map, with hash-map flag semantics."""

    has_values = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, value=4)
        super().__init__(spec, ncpus)
        self._init_inner(spec)
        self._d: dict[bytes, VmMap] = {}

    def set_map(self, key: bytes, inner: VmMap, flags: int = ANY) -> None:
        self.check_inner(inner)
        err = self._put(bytes(key), inner, flags)
        if err:
            raise MapOpError(self.name, "update", -err)

    def _put(self, key: bytes, inner: VmMap, flags: int) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        present = key in self._d
        if present and flags == NOEXIST:
            return -errno.EEXIST
        if not present and flags == EXIST:
            return -errno.ENOENT
        if not present and len(self._d) >= self.max_entries:
            return -errno.E2BIG
        self._d[key] = inner
        return 0

    def inner_map(self, key: bytes) -> VmMap | None:
        return self._d.get(bytes(key))

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        inner = self._resolve(value)
        if inner is None:
            return -errno.EBADF
        return self._put(bytes(key), inner, flags)

    def helper_delete(self, key: bytes) -> int:
        return 0 if self._d.pop(bytes(key), None) is not None else -errno.ENOENT

    def lookup_raw(self, key: bytes) -> bytes | None:
        inner = self._d.get(bytes(key))
        return None if inner is None else u32(inner.id)

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        keys = list(self._d)
        pos = keys.index(bytes(key)) if key is not None and bytes(key) in self._d else -1
        return keys[pos + 1] if pos + 1 < len(keys) else None

    def __len__(self) -> int:
        return len(self._d)

