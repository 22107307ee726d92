"""BPF ring buffer reader (BPF_MAP_TYPE_RINGBUF, 5.8+) over mmap: no syscall per event.

Layout (kernel/bpf/ringbuf.c): page 0 holds ``consumer_pos`` (we write it),
page 1 ``producer_pos``; the data area follows and is mapped twice back to
back, so a record that wraps is still contiguous. Each record has an 8-byte
header ``{u32 len | BUSY | DISCARD; u32 pg_off}`` and is padded to 8 bytes.

Fixed-size records take a fast path: one check of all headers in the batch
(a strided compare) and one ``struct.iter_unpack`` over it, so a batch turns
into Python tuples at C speed.
"""

from __future__ import annotations

import mmap
import select
import struct

from ..errors import PybpfError
from ..uapi import MapType
from .bufreader import EpollReader, map_params

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HDR_SIZE = 8
_U32 = struct.Struct("<I")
PAGE = mmap.PAGESIZE


class RingBuffer(EpollReader):
    """Reads one ring buffer map.

    ``record``: a ``struct`` format for fixed-size records (fast path, records are
    tuples; with ``decode`` they pass through it, e.g. ``MyTuple._make``). Without
    it records are ``bytes``. ``callback(records)`` gets each batch as a list.
    """

    def __init__(self, ring: Any, callback: Callable[[list[Any]], Any] | None = None, *,
                 record: str | None = None, decode: Callable[[Any], Any] | None = None) -> None:
        fd, mtype, size = map_params(ring)
        if mtype != MapType.RINGBUF:
            raise PybpfError(f"map fd {fd} is not a ring buffer (type {mtype})")
        self.fd = fd
        self.size = size
        self.mask = size - 1
        self.callback = callback
        self.decode = decode
        self._consumer = mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._data = mmap.mmap(fd, PAGE + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=PAGE)
        self._view = memoryview(self._data)
        # Positions are read and written as one 8-byte access (a memoryview item), never
        # byte by byte as struct does: the kernel reads consumer_pos concurrently, and a
        # torn write makes it see a full ring and drop records.
        self._cons_q = memoryview(self._consumer).cast("Q")
        self._prod_q = self._view[:8].cast("Q")
        self._words = self._view.cast("I")
        self._epoll = select.epoll()
        self._epoll.register(fd, select.EPOLLIN)
        self.consumed = 0  # records handed out so far
        self.discarded = 0  # records the program reserved then discarded
        self._fixed: tuple[int, int, struct.Struct, bytes] | None = None
        if record is not None:
            body = struct.Struct("<" + record.lstrip("<>=!@"))
            stride = (body.size + HDR_SIZE + 7) & ~7
            unpack = struct.Struct(f"<{HDR_SIZE}x{record.lstrip('<>=!@')}"
                                   f"{stride - HDR_SIZE - body.size}x")
            self._fixed = (body.size, stride, unpack, _U32.pack(body.size))
            self._body = body

    # -- positions -----------------------------------------------------
    @property
    def consumer_pos(self) -> int:
        return int(self._cons_q[0])

    @property
    def producer_pos(self) -> int:
        return int(self._prod_q[0])

    def available(self) -> int:
        """Bytes written by producers and not yet consumed."""
        return self.producer_pos - self.consumer_pos

    # -- reading -------------------------------------------------------
    def read(self, limit: int = 0) -> list[Any]:
        """Take every committed record now in the ring (at most ``limit`` with limit > 0)."""
        cons = self.consumer_pos
        prod = self.producer_pos
        if cons == prod:
            return []
        out: list[Any]
        if self._fixed is not None:
            out, cons = self._read_fixed(cons, prod, limit)
        else:
            out, cons = self._read_uniform(cons, prod, limit)
        self._cons_q[0] = cons
        self.consumed += len(out)
        return out

    def _read_fixed(self, cons: int, prod: int, limit: int) -> tuple[list[Any], int]:
        assert self._fixed is not None
        size, stride, unpack, hdr = self._fixed
        n = (prod - cons) // stride
        if limit > 0:
            n = min(n, limit)
        start = PAGE + (cons & self.mask)
        chunk = self._view[start:start + n * stride]
        if n:
            if chunk.cast("I")[::stride // 4].tobytes() == hdr * n:
                recs = list(unpack.iter_unpack(chunk))
                if self.decode is not None:
                    recs = list(map(self.decode, recs))
                return recs, cons + n * stride
        # some record is busy, discarded or of another size: walk it
        raw, cons = self._read_any(cons, prod, limit)
        body = self._body
        recs = [body.unpack_from(r) for r in raw if len(r) >= size]
        if self.decode is not None:
            recs = list(map(self.decode, recs))
        return recs, cons

    def _read_uniform(self, cons: int, prod: int, limit: int) -> tuple[list[Any], int]:
        """Untyped records: if the batch is all one size (the common case), slice it at
        C speed; otherwise walk it."""
        hdr = int(self._words[(PAGE + (cons & self.mask)) >> 2])
        if not hdr & (BUSY_BIT | DISCARD_BIT):
            stride = (hdr + HDR_SIZE + 7) & ~7
            n = (prod - cons) // stride
            if limit > 0:
                n = min(n, limit)
            start = PAGE + (cons & self.mask)
            chunk = self._view[start:start + n * stride]
            if n > 1 and chunk.cast("I")[::stride // 4].tobytes() == _U32.pack(hdr) * n:
                unpack = struct.Struct(f"<{HDR_SIZE}x{hdr}s{stride - HDR_SIZE - hdr}x")
                return [r[0] for r in unpack.iter_unpack(chunk)], cons + n * stride
        return self._read_any(cons, prod, limit)

    def _read_any(self, cons: int, prod: int, limit: int) -> tuple[list[Any], int]:
        view, words, mask, out = self._view, self._words, self.mask, []
        while cons < prod:
            off = PAGE + (cons & mask)
            hdr = words[off >> 2]  # one 4-byte load: the kernel flips BUSY concurrently
            if hdr & BUSY_BIT:
                break
            length = hdr & ~(BUSY_BIT | DISCARD_BIT)
            if hdr & DISCARD_BIT:
                self.discarded += 1
            else:
                out.append(view[off + HDR_SIZE:off + HDR_SIZE + length].tobytes())
            cons += (length + HDR_SIZE + 7) & ~7
            if limit and len(out) >= limit:
                break
        return out, cons

    def consume(self) -> int:
        """Hand every available record to the callback; return how many."""
        recs = self.read()
        if recs and self.callback is not None:
            self.callback(recs)
        return len(recs)

    def drain(self) -> list[Any]:
        """Every record available now, without the callback."""
        out: list[Any] = []
        while True:
            recs = self.read()
            if not recs:
                return out
            out.extend(recs)

    def close(self) -> None:
        if self._epoll.closed:
            return
        self._epoll.close()
        for v in (self._cons_q, self._prod_q, self._words, self._view):
            v.release()
        self._data.close()
        self._consumer.close()
