"""Per-CPU perf buffer reader for BPF_MAP_TYPE_PERF_EVENT_ARRAY (bpf_perf_event_output).

One software ``bpf-output`` event per CPU, each with its own mmap ring
(``struct perf_event_mmap_page`` then 2^n data pages); the event fd goes into
the map at that CPU's index. PERF_RECORD_SAMPLE carries ``{u32 size; data}``
(size includes the kernel's padding to 8 bytes); PERF_RECORD_LOST says how
many samples the kernel dropped, which we count per CPU and report.
"""

from __future__ import annotations

import mmap
import os
import select
import struct

from ..errors import PybpfError
from ..uapi import MapType
from . import perf_event as pe
from .bufreader import EpollReader, map_params, set_u32

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PAGE = mmap.PAGESIZE
_HEAD, _TAIL, _DATA_OFF, _DATA_SIZE = 1024, 1032, 1040, 1048
_HDR = struct.Struct("<IHHI")  # perf_event_header + the sample's u32 raw size
_LOST = struct.Struct("<8xQQ")  # header, id, lost


class _CpuRing:
    def __init__(self, cpu: int, pages: int, wakeup_events: int) -> None:
        self.cpu = cpu
        self.fd = pe.open_bpf_output(cpu, wakeup_events=wakeup_events)
        try:
            self.mm = mmap.mmap(self.fd, PAGE * (pages + 1), mmap.MAP_SHARED,
                                mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            os.close(self.fd)
            raise PybpfError(f"perf buffer on cpu {cpu}: mmap of {pages} pages failed: "
                             f"{e.strerror}") from None
        # data_head/data_tail are read and written as single 8-byte accesses (memoryview
        # items), not byte by byte as struct does: the kernel uses them concurrently.
        self._q = memoryview(self.mm).cast("Q")
        self.data_off = int(self._q[_DATA_OFF // 8]) or PAGE
        self.data_size = int(self._q[_DATA_SIZE // 8]) or PAGE * pages
        self.lost = 0

    def take(self) -> bytes:
        """The unread bytes of the ring (copied, wrap joined), and mark them read."""
        head = int(self._q[_HEAD // 8])
        tail = int(self._q[_TAIL // 8])
        if head == tail:
            return b""
        size, base = self.data_size, self.data_off
        start, end = tail % size, head % size
        if head - tail >= size or end <= start:
            raw = self.mm[base + start:base + size] + self.mm[base:base + end]
        else:
            raw = self.mm[base + start:base + end]
        self._q[_TAIL // 8] = head
        return raw

    def close(self) -> None:
        self._q.release()
        self.mm.close()
        os.close(self.fd)


class PerfBuffer(EpollReader):
    """Reads a PERF_EVENT_ARRAY map on every CPU.

    ``callback(cpu, records)`` gets each CPU's batch; ``lost_callback(cpu, n)`` the
    drop counts (also summed in ``lost``). ``record`` (a struct format) makes records
    tuples and enables the fixed-size fast path; otherwise they are the raw bytes
    (including the kernel's padding).
    """

    def __init__(self, perf_map: Any, callback: Callable[[int, list[Any]], Any] | None = None,
                 *, lost_callback: Callable[[int, int], Any] | None = None, pages: int = 64,
                 record: str | None = None, decode: Callable[[Any], Any] | None = None,
                 wakeup_events: int = 1, cpus: list[int] | None = None) -> None:
        if pages & (pages - 1):
            raise PybpfError(f"perf buffer: pages must be a power of two, not {pages}")
        fd, mtype, max_entries = map_params(perf_map)
        if mtype != MapType.PERF_EVENT_ARRAY:
            raise PybpfError(f"map fd {fd} is not a perf event array (type {mtype})")
        self.map_fd = fd
        self.callback = callback
        self.lost_callback = lost_callback
        self.decode = decode
        self.lost = 0
        self.received = 0
        self._rings: dict[int, _CpuRing] = {}
        self._epoll = select.epoll()
        self._body: struct.Struct | None = None
        if record is not None:
            fmt = record.lstrip("<>=!@")
            self._body = struct.Struct("<" + fmt)
            raw = ((self._body.size + 4 + 7) & ~7) - 4  # what the kernel reports as size
            self._stride = 8 + 4 + raw
            self._fast = struct.Struct(f"<12x{fmt}{raw - self._body.size}x")
        try:
            for cpu in cpus if cpus is not None else pe.online_cpus():
                if cpu >= max_entries:
                    continue
                ring = _CpuRing(cpu, pages, wakeup_events)
                self._rings[ring.fd] = ring
                set_u32(fd, cpu, ring.fd)
                self._epoll.register(ring.fd, select.EPOLLIN)
                pe.enable(ring.fd)
        except BaseException:
            self.close()
            raise

    def _parse(self, ring: _CpuRing, raw: bytes) -> list[Any]:
        body = self._body
        if body is not None:
            stride = self._stride
            n, rem = divmod(len(raw), stride)
            if n and not rem:
                mv = memoryview(raw)
                types = mv.cast("I")[::stride // 4].tobytes()
                sizes = mv.cast("H")[3::stride // 2].tobytes()
                if (types == struct.pack("<I", pe.RECORD_SAMPLE) * n
                        and sizes == struct.pack("<H", stride) * n):
                    recs = list(self._fast.iter_unpack(raw))
                    return list(map(self.decode, recs)) if self.decode else recs
        out: list[Any] = []
        pos, end = 0, len(raw)
        while pos + 8 <= end:
            rtype, _misc, size, rsize = _HDR.unpack_from(raw, pos) if pos + 12 <= end else (
                *struct.unpack_from("<IHH", raw, pos), 0)
            if size == 0:
                break
            if rtype == pe.RECORD_SAMPLE:
                data = raw[pos + 12:pos + 12 + rsize]
                out.append(body.unpack_from(data) if body is not None else data)
            elif rtype == pe.RECORD_LOST:
                n_lost = _LOST.unpack_from(raw, pos)[1]
                ring.lost += n_lost
                self.lost += n_lost
                if self.lost_callback is not None:
                    self.lost_callback(ring.cpu, n_lost)
            pos += size
        if self.decode is not None and body is not None:
            out = list(map(self.decode, out))
        return out

    def read(self) -> dict[int, list[Any]]:
        """Every CPU's available records, by CPU (lost counts are tallied on the way)."""
        out: dict[int, list[Any]] = {}
        for ring in self._rings.values():
            raw = ring.take()
            if raw:
                recs = self._parse(ring, raw)
                if recs:
                    out[ring.cpu] = recs
                    self.received += len(recs)
        return out

    def consume(self) -> int:
        n = 0
        for cpu, recs in self.read().items():
            n += len(recs)
            if self.callback is not None:
                self.callback(cpu, recs)
        return n

    def drain(self) -> list[Any]:
        """All records available now, every CPU, in CPU order."""
        out: list[Any] = []
        while True:
            got = self.read()
            if not got:
                return out
            for cpu in sorted(got):
                out.extend(got[cpu])

    def close(self) -> None:
        for ring in self._rings.values():
            try:
                set_u32(self.map_fd, ring.cpu, None)
            except PybpfError:
                pass  # the map is gone already
            ring.close()
        self._rings.clear()
        if not self._epoll.closed:
            self._epoll.close()
