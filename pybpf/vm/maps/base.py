"""The vm map base: errno handling, creation checks and the helper/user split.

Every vm map keeps its values as ``bytearray`` objects so the interpreter can hand a
program a pointer into the live value (``value_buffer``) and see stores land in the map.
Helpers get kernel-style ``0``/``-errno`` returns (``helper_update``/``helper_delete``);
the user API (``update_raw``/``delete_raw``) turns the same errors into ``MapError``.
"""

from __future__ import annotations

import errno
import itertools
import weakref

from ...errors import PybpfError
from ...mapapi import ANY, EXIST, F_LOCK, Map, MapError
from ...spec import MapSpec
from ...uapi import MapType

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

# Largest key the kernel accepts for hash-like maps (MAX_BPF_STACK).
MAX_KEY_SIZE = 512
# Per-CPU values are bounded by the per-CPU allocator unit (PCPU_MIN_UNIT_SIZE).
MAX_PERCPU_VALUE_SIZE = 32768
# Our own sanity cap for one value: 64 MiB (the kernel's bound is KMALLOC_MAX_SIZE-ish).
MAX_VALUE_SIZE = 1 << 26

# One past the highest BPF_F_* map creation flag (BPF_F_NO_USER_CONV = 1 << 18, 6.x).
KNOWN_MAP_FLAGS = 1 << 19

_ids = itertools.count(1)
# Live vm maps by id: the vm's stand-in for map fds (map-of-maps values, lookups).
_live: weakref.WeakValueDictionary[int, VmMap] = weakref.WeakValueDictionary()

_ERRNO_TEXT = {
    errno.EEXIST: "the key already exists (BPF_NOEXIST)",
    errno.ENOENT: "no such key",
    errno.E2BIG: "the map is full or the index is out of range",
    errno.EINVAL: "invalid argument or flags",
    errno.ENOSPC: "the map is full",
    errno.EPERM: "the map is frozen (read-only from user space)",
    errno.EOPNOTSUPP: "operation not supported by this map type",
    errno.EBADF: "no live vm map or program with that id (the vm's stand-in for an fd)",
}


class MapOpError(MapError):
    """A user-side map operation failed with a kernel-style errno."""

    def __init__(self, map_name: str, op: str, err: int) -> None:
        name = errno.errorcode.get(err, str(err))
        text = _ERRNO_TEXT.get(err, name)
        if op == "delete" and err == errno.EINVAL:
            text = "this map type has no deletion (array elements always exist: write zeros)"
        super().__init__(f"map {map_name!r}: {op} failed: {text} ({name})")
        self.errno = err


def check_update_flags(flags: int, *, lock_ok: bool = False) -> int:
    """0 if ``flags`` is one of ANY/NOEXIST/EXIST (+F_LOCK where allowed), else -EINVAL."""
    if flags & F_LOCK:
        if not lock_ok:
            return -errno.EINVAL  # the kernel wants a bpf_spin_lock in the value for F_LOCK
        flags &= ~F_LOCK
    return 0 if 0 <= flags <= EXIST else -errno.EINVAL


class VmMap(Map):
    """A map living in this process. Subclasses implement the helper-level operations."""

    #: True for maps whose values a program may point into (hash, array, LPM, ...).
    has_values = True

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        require(spec, 0 <= spec.flags < KNOWN_MAP_FLAGS,
                f"unknown map flags {spec.flags:#x} (BPF_F_* creation flags are below "
                f"{KNOWN_MAP_FLAGS:#x}); the kernel answers EINVAL")
        self.spec = spec
        self.name = spec.name
        self.type = MapType(spec.type)
        self.key_size = spec.key_size
        self.value_size = spec.value_size
        self.max_entries = spec.max_entries
        self.flags = spec.flags
        self.map_extra = spec.map_extra
        self.ncpus = ncpus
        self.id = next(_ids)
        _live[self.id] = self
        self.frozen = False
        super().__init__()

    # -- helper-facing (0 / -errno) ------------------------------------
    def value_buffer(self, key: bytes, cpu: int = 0) -> bytearray | None:
        """The live value for ``key`` (per-CPU maps: CPU ``cpu``'s copy), or None."""
        return None

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        return -errno.EINVAL

    def helper_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    # -- user-facing (raises MapOpError) ------------------------------
    def update_raw(self, key: bytes, value: bytes, flags: int = ANY) -> None:
        if self.frozen:
            raise MapOpError(self.name, "update", errno.EPERM)
        self._check_len("key", key, self.key_size)
        err = self._user_update(bytes(key), bytes(value), flags)
        if err:
            raise MapOpError(self.name, "update", -err)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        self._check_len("value", value, self.value_size)
        return self.helper_update(key, value, flags)

    def delete_raw(self, key: bytes) -> bool:
        if self.frozen:
            raise MapOpError(self.name, "delete", errno.EPERM)
        self._check_len("key", key, self.key_size)
        err = self.helper_delete(bytes(key))
        if err == -errno.ENOENT:
            return False
        if err:
            raise MapOpError(self.name, "delete", -err)
        return True

    def lookup_and_delete_raw(self, key: bytes) -> bytes | None:
        """BPF_MAP_LOOKUP_AND_DELETE_ELEM: the value, then the key is gone."""
        value = self.lookup_raw(key)
        if value is not None:
            self.delete_raw(key)
        return value

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: user space may no longer write; programs still may."""
        self.frozen = True

    def _check_len(self, what: str, raw: bytes, size: int) -> None:
        if len(raw) != size:
            raise MapError(f"map {self.name!r}: {what} must be {size} bytes, got {len(raw)}")

    def _percpu_values(self, value: bytes) -> list[bytes]:
        """Split a user per-CPU value (ncpus * stride bytes, or one value for all CPUs)."""
        s, n, vs = self.value_stride, self.ncpus, self.value_size
        if len(value) == s * n:
            return [value[i * s:i * s + vs] for i in range(n)]
        if len(value) == vs:
            return [value] * n
        raise MapError(
            f"map {self.name!r}: per-CPU value must be {n} x {s} bytes "
            f"(or {vs} bytes for every CPU), got {len(value)}"
        )

    def _join_percpu(self, bufs: list[bytearray]) -> bytes:
        pad = b"\0" * (self.value_stride - self.value_size)
        return b"".join(bytes(b) + pad for b in bufs)


def map_by_id(map_id: int) -> VmMap | None:
    """The live vm map with this id, or None."""
    return _live.get(map_id)


def spec_error(spec: MapSpec, what: str) -> PybpfError:
    """A creation error naming the map and what to change."""
    return PybpfError(f"map {spec.name!r} ({MapType(spec.type).name.lower()}): {what}")


def require(spec: MapSpec, cond: bool, what: str) -> None:
    if not cond:
        raise spec_error(spec, what)


def check_sizes(spec: MapSpec, *, key: int | None = None, value: int | None = None,
                percpu: bool = False) -> None:
    """Validate key/value sizes and max_entries the way BPF_MAP_CREATE does."""
    require(spec, spec.max_entries > 0, f"max_entries must be > 0, not {spec.max_entries}")
    require(spec, spec.max_entries < 1 << 32, "max_entries must fit in 32 bits")
    if key is None:
        require(spec, 0 < spec.key_size <= MAX_KEY_SIZE,
                f"key_size must be 1..{MAX_KEY_SIZE}, not {spec.key_size}")
    else:
        require(spec, spec.key_size == key, f"key_size must be {key}, not {spec.key_size}")
    if value is None:
        limit = MAX_PERCPU_VALUE_SIZE if percpu else MAX_VALUE_SIZE
        require(spec, 0 < spec.value_size <= limit,
                f"value_size must be 1..{limit}, not {spec.value_size}")
    else:
        require(spec, spec.value_size == value,
                f"value_size must be {value}, not {spec.value_size}")


def index_of(key: bytes) -> int:
    """The u32 index of an array-style key."""
    return int.from_bytes(key[:4], "little")


def u32(index: int) -> bytes:
    return index.to_bytes(4, "little")


def describe(obj: Any) -> str:
    return getattr(obj, "name", None) or type(obj).__name__
