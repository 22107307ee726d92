"""Keyless maps: QUEUE (FIFO), STACK (LIFO) and BLOOM_FILTER.

They have no keys (key_size 0); programs use push/pop/peek (``helper_*`` here, raw bytes and
kernel-style returns; the typed ``push``/``pop``/``peek`` come from ``Map``). From user space
BPF_MAP_UPDATE_ELEM pushes, LOOKUP_ELEM peeks and LOOKUP_AND_DELETE_ELEM pops, so
``update_raw``/``lookup_raw``/``lookup_and_delete_raw`` do the same here.
"""

from __future__ import annotations

import errno
import hashlib
import math
from collections import deque

from ...mapapi import ANY, EXIST
from ...spec import MapSpec
from .base import MapOpError, VmMap, check_sizes, require

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


class QueueMap(VmMap):
    """BPF_MAP_TYPE_QUEUE: push at the tail, pop/peek the oldest value."""

    lifo = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=0)
        super().__init__(spec, ncpus)
        self._items: deque[bytes] = deque()

    def helper_push(self, value: bytes, flags: int = ANY) -> int:
        """0, -E2BIG when full (BPF_EXIST instead drops the oldest value), -EINVAL."""
        if flags not in (ANY, EXIST):
            return -errno.EINVAL
        if len(self._items) >= self.max_entries:
            if flags != EXIST:
                return -errno.E2BIG
            self._items.popleft()  # the kernel overwrites the oldest, for queue and stack
        self._items.append(bytes(value[:self.value_size]))
        return 0

    def helper_pop(self) -> bytes | None:
        if not self._items:
            return None
        return self._items.pop() if self.lifo else self._items.popleft()

    def helper_peek(self) -> bytes | None:
        if not self._items:
            return None
        return self._items[-1] if self.lifo else self._items[0]

    # -- user-facing ---------------------------------------------------
    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        self._check_len("value", value, self.value_size)
        return self.helper_push(value, flags)

    def lookup_raw(self, key: bytes = b"") -> bytes | None:
        return self.helper_peek()

    def lookup_and_delete_raw(self, key: bytes = b"") -> bytes | None:
        return self.helper_pop()

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        return None  # no keys: the kernel answers EINVAL

    def values(self) -> Iterator[Any]:
        """The values in pop order, without removing them."""
        items = list(reversed(self._items) if self.lifo else self._items)
        return (self.value_codec.decode(v) for v in items)

    def __len__(self) -> int:
        return len(self._items)


class StackMap(QueueMap):
    """BPF_MAP_TYPE_STACK: pop/peek the newest value."""

    lifo = True


class BloomFilterMap(VmMap):
    """BPF_MAP_TYPE_BLOOM_FILTER: ``map_extra`` bits 0-3 = number of hash functions (0 → 5).

    ``peek(value)`` answers "maybe present" (returns the value) or "surely absent" (None):
    no false negatives, false positives as rare as the kernel's sizing makes them.
    """

    has_values = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=0)
        require(spec, spec.map_extra & ~0xF == 0,
                f"map_extra holds the hash count in bits 0-3, not {spec.map_extra:#x}")
        super().__init__(spec, ncpus)
        self.nr_hashes = (spec.map_extra & 0xF) or 5
        # Like bloom_filter.c: max_entries * hashes / ln 2 bits, rounded up to a power of 2.
        want = max(64, math.ceil(spec.max_entries * self.nr_hashes / math.log(2)))
        self.nr_bits = 1 << (want - 1).bit_length()
        self._bits = bytearray(self.nr_bits // 8)

    def _positions(self, value: bytes) -> list[int]:
        digest = hashlib.blake2b(bytes(value), digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        mask = self.nr_bits - 1
        return [(h1 + i * h2) & mask for i in range(self.nr_hashes)]

    def helper_push(self, value: bytes, flags: int = ANY) -> int:
        if flags != ANY:
            return -errno.EINVAL
        bits = self._bits
        for p in self._positions(value[:self.value_size]):
            bits[p >> 3] |= 1 << (p & 7)
        return 0

    def contains(self, value: bytes) -> bool:
        """False means surely absent; True means maybe present."""
        bits = self._bits
        return all(bits[p >> 3] >> (p & 7) & 1 for p in self._positions(value[:self.value_size]))

    def contains_value(self, value: Any) -> bool:
        """Typed ``contains`` (the value goes through the value codec), as on KernelMap."""
        return self.contains(self._encode_value(value))

    def helper_peek(self, value: bytes | None = None) -> bytes | None:
        if value is None:
            return None
        return bytes(value) if self.contains(value) else None

    def helper_pop(self) -> bytes | None:
        return None  # the kernel answers EOPNOTSUPP

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        self._check_len("value", value, self.value_size)
        return self.helper_push(value, flags)

    def lookup_raw(self, key: bytes) -> bytes | None:
        return None  # membership needs the value: use contains()

    def delete_raw(self, key: bytes) -> bool:
        raise MapOpError(self.name, "delete", errno.EOPNOTSUPP)

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        return None

    def __len__(self) -> int:
        return 0
