"""BPF_MAP_TYPE_STACK_TRACE for the vm: stack id (u32) → up to value_size/8 addresses.

The vm has no real call stacks; ``bpf_get_stackid`` stores the addresses the caller
gave the program (``VmProgram.kstack`` / ``ustack``). Ids come from a hash of the
addresses, so the same stack gets the same id; a different stack hashing to a used id
is ``-EEXIST`` unless ``BPF_F_REUSE_STACKID`` is set, as in the kernel.
"""

from __future__ import annotations

import errno
import struct
import zlib

from ...spec import MapSpec
from .base import require
from .hashmap import HashMap

BPF_F_REUSE_STACKID = 1 << 10


class StackTraceMap(HashMap):
    """Stack ids to instruction addresses (zero-padded to the map's depth)."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        require(spec, spec.key_size == 4, "a stack trace map's key is a u32 stack id (4 bytes)")
        require(spec, spec.value_size % 8 == 0 and spec.value_size > 0,
                "a stack trace map's value is a multiple of 8 bytes (one u64 per frame)")
        super().__init__(spec, ncpus)

    @property
    def depth(self) -> int:
        return self.value_size // 8

    def store_stack(self, ips: list[int], flags: int) -> int:
        """The stack id for ``ips`` (already skipped and truncated), or -errno."""
        if not ips:
            return -errno.EFAULT
        value = struct.pack(f"<{len(ips)}Q", *ips).ljust(self.value_size, b"\0")
        sid = zlib.crc32(value) % self.max_entries
        key = sid.to_bytes(4, "little")
        old = self._d.get(key)
        if old is not None and bytes(old) != value and not flags & BPF_F_REUSE_STACKID:
            return -errno.EEXIST
        self.update_raw(key, value)
        return sid
