"""The vm's memory model: 64-bit virtual addresses mapped onto checked regions.

An address is ``rid << 32 | offset``: the upper 32 bits pick a region (a stack
frame, the context, the packet, a map value, a ringbuf record, read-only data),
the lower 32 bits are the offset inside it. Region ids are even, so walking off
either end of a region lands in an unmapped odd id and faults instead of
reaching a neighbour. Compiled programs index the ``R`` (readable) and ``W``
(writable) dicts directly on the fast path and fall back to ``load``/``store``
here, which either serve a virtual context field or raise ``VmError`` naming
the instruction and the region. No access ever reaches host memory.
"""

from __future__ import annotations

import struct

from ..errors import PybpfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable

Buffer = bytes | bytearray | memoryview

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# Fixed region ids (even); dynamic regions start at DYN_RID.
CTX_RID = 2
PKT_RID = 4
STACK_RID = 6  # frame d lives at STACK_RID + 2*d
MAX_FRAMES = 8
STACK_SIZE = 512
FUNC_RID = 1  # odd: never readable; code addresses for callx / callbacks
MAPH_RID = 3  # odd: never readable; map handles (what lddw src=1 yields)
PERM_RID = 64  # permanent regions: direct map values (.data/.bss/.rodata)
DYN_RID = 1 << 20

_UNSIGNED = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"),
             8: struct.Struct("<Q")}
_SIGNED = {1: struct.Struct("<b"), 2: struct.Struct("<h"), 4: struct.Struct("<i"),
           8: struct.Struct("<q")}


class VmError(PybpfError):
    """The program did something the vm stops: a bad access, budget exhausted, a bad call."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message if index is None else f"insn {index}: {message}")
        self.index = index


class MemFault(Exception):
    """A helper touched memory it may not; helpers turn it into -EFAULT."""


class VirtualCtx:
    """A context whose fields the vm computes on read (xdp_md, __sk_buff pointers).

    ``backing`` holds the plain fields; ``pointers`` maps a field offset to the
    64-bit address a 32-bit load of that field yields (the kernel rewrites those
    loads the same way).
    """

    def __init__(self, backing: bytearray, pointers: dict[int, int]) -> None:
        self.backing = backing
        self.pointers = pointers


def base_of(rid: int) -> int:
    return rid << 32


class Memory:
    """Regions by id, with checked slow paths for loads, stores and helper access."""

    def __init__(self) -> None:
        self.R: dict[int, Buffer] = {}
        self.W: dict[int, bytearray] = {}
        self.names: dict[int, str] = {}
        self.virt: dict[int, VirtualCtx] = {}
        self._next = DYN_RID
        self._next_perm = PERM_RID
        self._perm: dict[int, Buffer] = {}
        self._dyn_by_obj: dict[int, int] = {}
        self.frames = [bytearray(STACK_SIZE) for _ in range(MAX_FRAMES)]
        for d, frame in enumerate(self.frames):
            self.map_fixed(STACK_RID + 2 * d, frame, f"stack frame {d}", writable=True)

    # -- mapping ------------------------------------------------------
    def map_fixed(self, rid: int, buf: Buffer, name: str, writable: bool) -> int:
        self.R[rid] = buf
        if writable:
            if not isinstance(buf, bytearray):
                raise TypeError("a writable region must be a bytearray")
            self.W[rid] = buf
        else:
            self.W.pop(rid, None)
        self.names[rid] = name
        self.virt.pop(rid, None)
        return rid << 32

    def map_virtual(self, rid: int, ctx: VirtualCtx, name: str) -> int:
        self.R.pop(rid, None)
        self.W.pop(rid, None)
        self.virt[rid] = ctx
        self.names[rid] = name
        return rid << 32

    def map_dynamic(self, buf: Buffer, name: str, writable: bool = True,
                    permanent: bool = False) -> int:
        """Map ``buf`` (a map value, a ringbuf record); the same object keeps its address.

        Non-permanent regions are dropped in bulk when too many accumulate (between
        runs no register can still hold their addresses)."""
        rid = self._dyn_by_obj.get(id(buf))
        if rid is not None and self.R.get(rid) is buf:
            return rid << 32
        if permanent:
            rid = self._next_perm
            self._next_perm += 2
            self._perm[id(buf)] = buf
        else:
            if len(self._dyn_by_obj) - len(self._perm) > 65536:
                self.reset_dynamic()
            rid = self._next
            self._next += 2
            if self._next >= 1 << 31:
                raise VmError("too many live memory regions")
        self._dyn_by_obj[id(buf)] = rid
        return self.map_fixed(rid, buf, name, writable)

    def rid_of(self, buf: Buffer) -> int:
        """The region id ``buf`` is mapped at, or 0."""
        rid = self._dyn_by_obj.get(id(buf))
        return rid if rid is not None and self.R.get(rid) is buf else 0

    def adopt(self, other: Memory, rids: tuple[int, ...]) -> None:
        """Take over ``other``'s regions ``rids`` (the context and packet of a tail call)."""
        if other is self:
            return
        for rid in rids:
            self.R.pop(rid, None)
            self.W.pop(rid, None)
            self.virt.pop(rid, None)
            if rid in other.R:
                self.R[rid] = other.R[rid]
            if rid in other.W:
                self.W[rid] = other.W[rid]
            if rid in other.virt:
                self.virt[rid] = other.virt[rid]
            if rid in other.names:
                self.names[rid] = other.names[rid]

    def unmap(self, rid: int) -> None:
        buf = self.R.pop(rid, None)
        self.W.pop(rid, None)
        self.virt.pop(rid, None)
        self.names.pop(rid, None)
        if buf is not None and self._dyn_by_obj.get(id(buf)) == rid:
            del self._dyn_by_obj[id(buf)]

    def reset_dynamic(self) -> None:
        for key, rid in list(self._dyn_by_obj.items()):
            if key not in self._perm:
                self.unmap(rid)
        self._next = DYN_RID

    def region_buffer(self, addr: int) -> Buffer | None:
        return self.R.get(addr >> 32)

    # -- checked access (slow path and helpers) ------------------------
    def _span(self, addr: int, size: int, write: bool) -> tuple[Buffer, int] | None:
        rid, off = addr >> 32, addr & M32
        buf = (self.W if write else self.R).get(rid) if addr >= 0 else None
        if buf is None or off + size > len(buf) or size < 0:
            return None
        return buf, off

    def read(self, addr: int, size: int) -> bytes:
        buf = self.R.get(addr >> 32)
        off = addr & M32
        if buf is None or off + size > len(buf) or addr < 0 or size < 0:
            raise MemFault(self.describe(addr, size, False))
        return bytes(buf[off:off + size])

    def write(self, addr: int, data: bytes) -> None:
        span = self._span(addr, len(data), True)
        if span is None:
            raise MemFault(self.describe(addr, len(data), True))
        buf, off = span
        buf[off:off + len(data)] = data  # type: ignore[index]

    def view(self, addr: int, size: int, write: bool = False) -> memoryview:
        span = self._span(addr, size, write)
        if span is None:
            raise MemFault(self.describe(addr, size, write))
        buf, off = span
        return memoryview(buf)[off:off + size]

    def cstr(self, addr: int, limit: int) -> bytes:
        """Bytes from ``addr`` up to (not including) a NUL, at most ``limit`` bytes."""
        rid, off = addr >> 32, addr & M32
        buf = self.R.get(rid) if addr >= 0 else None
        if buf is None or off >= len(buf):
            raise MemFault(self.describe(addr, 1, False))
        end = min(len(buf), off + limit)
        raw = bytes(buf[off:end])
        nul = raw.find(b"\0")
        if nul < 0 and end - off < limit:
            raise MemFault(self.describe(addr, limit, False))
        return raw if nul < 0 else raw[:nul]

    def load(self, addr: int, size: int, index: int, signed: bool = False) -> int:
        """Slow path of a load: virtual context fields, else a precise VmError."""
        rid = addr >> 32
        vctx = self.virt.get(rid) if addr >= 0 else None
        if vctx is not None:
            off = addr & M32
            if off in vctx.pointers and size == 4:
                return vctx.pointers[off]
            if off + size <= len(vctx.backing):
                fmt = (_SIGNED if signed else _UNSIGNED)[size]
                return fmt.unpack_from(vctx.backing, off)[0] & M64
        span = self._span(addr, size, False)
        if span is None:
            raise VmError(self.describe(addr, size, False), index)
        buf, off = span
        fmt = (_SIGNED if signed else _UNSIGNED)[size]
        return fmt.unpack_from(buf, off)[0] & M64

    def store(self, addr: int, size: int, value: int, index: int) -> None:
        span = self._span(addr, size, True)
        if span is None:
            raise VmError(self.describe(addr, size, True), index)
        buf, off = span
        _UNSIGNED[size].pack_into(buf, off, value & ((1 << (8 * size)) - 1))

    def atomic(self, addr: int, size: int, op: int, val: int, r0: int, index: int) -> int:
        """One atomic read-modify-write; returns the old value (zero-extended)."""
        old = self.load(addr, size, index) if addr >> 32 not in self.virt else -1
        if addr >> 32 not in self.W:
            raise VmError(self.describe(addr, size, True), index)
        mask = (1 << (8 * size)) - 1
        code = op & ~1
        new: int | None
        if op == 0xF1:  # cmpxchg: compare with r0
            new = val if old == r0 & mask else None
        elif op == 0xE1:  # xchg
            new = val
        else:
            fn = _ATOMIC_FNS.get(code)
            if fn is None:
                raise VmError(f"unknown atomic operation 0x{op:x}", index)
            new = fn(old, val)
        if new is not None:
            self.store(addr, size, new & mask, index)
        return old

    # -- messages -----------------------------------------------------
    def describe(self, addr: int, size: int, write: bool) -> str:
        what = "write" if write else "read"
        addr &= M64
        rid, off = addr >> 32, addr & M32
        if addr < 4096:
            return f"{what} of {size} bytes at 0x{addr:x}: null pointer dereference"
        if rid == FUNC_RID:
            return f"{what} of {size} bytes at 0x{addr:x}: that is a code address"
        if rid == MAPH_RID:
            return f"{what} of {size} bytes at 0x{addr:x}: that is a map handle, not memory"
        if rid in self.R or rid in self.virt:
            name, lo, hi = self._bounds(rid)
            if write and rid not in self.W:
                return (f"{what} of {size} bytes at 0x{addr:x} into read-only {name} "
                        f"(0x{lo:x}-0x{hi:x})")
            return (f"out-of-bounds {what} of {size} bytes at 0x{addr:x} "
                    f"({name} is 0x{lo:x}-0x{hi:x})")
        near = rid + 1 if off >= 1 << 31 else rid - 1
        if near in self.R or near in self.virt:
            name, lo, hi = self._bounds(near)
            return (f"out-of-bounds {what} of {size} bytes at 0x{addr:x} "
                    f"({name} is 0x{lo:x}-0x{hi:x})")
        return f"{what} of {size} bytes at 0x{addr:x}: address is not mapped"

    def _bounds(self, rid: int) -> tuple[str, int, int]:
        v = self.virt.get(rid)
        size = len(v.backing) if v is not None else len(self.R[rid])
        return self.names.get(rid, f"region {rid}"), rid << 32, (rid << 32) + size


_ATOMIC_FNS: dict[int, Callable[[int, int], int]] = {
    0x00: lambda a, b: a + b,
    0x40: lambda a, b: a | b,
    0x50: lambda a, b: a & b,
    0xA0: lambda a, b: a ^ b,
}
