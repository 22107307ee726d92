"""BPF_MAP_TYPE_RINGBUF: reserve/submit/discard records, consumed in reservation order.

Space is accounted like the kernel: each record takes an 8-byte header plus its data,
rounded up to 8 bytes; a reservation fails when the producer would get more than
``max_entries`` bytes ahead of the consumer. A record still reserved (neither submitted
nor discarded) holds back every later one, as the kernel's BUSY bit does. Failed
reservations and outputs are counted in ``dropped``.
"""

from __future__ import annotations

import errno
import threading
from collections import deque
from dataclasses import dataclass

from ...spec import MapSpec
from .base import MapOpError, VmMap, check_sizes, require

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable

HDR_SIZE = 8  # BPF_RINGBUF_HDR_SZ
# bpf_ringbuf_query flags
RB_AVAIL_DATA = 0
RB_RING_SIZE = 1
RB_CONS_POS = 2
RB_PROD_POS = 3
# bpf_ringbuf_output/submit flags
RB_NO_WAKEUP = 1
RB_FORCE_WAKEUP = 2
PAGE_SIZE = 4096

_BUSY, _DONE, _DISCARDED = 0, 1, 2


@dataclass(slots=True)
class _Record:
    buf: bytearray
    span: int  # header + data, rounded up to 8
    state: int = _BUSY


class RingBufMap(VmMap):
    """A ring buffer of ``max_entries`` bytes (a power of 2, a multiple of the page size)."""

    has_values = False

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=0, value=0)
        size = spec.max_entries
        require(spec, size & (size - 1) == 0 and size % PAGE_SIZE == 0,
                f"max_entries is the buffer size in bytes: a power of 2 and a multiple of "
                f"{PAGE_SIZE}, not {size}")
        super().__init__(spec, ncpus)
        self.size = size
        self.prod_pos = 0
        self.cons_pos = 0
        self.dropped = 0
        self._records: deque[_Record] = deque()
        self._by_buf: dict[int, _Record] = {}
        self._lock = threading.Lock()
        #: Called after a submit/output that did not ask for BPF_RB_NO_WAKEUP.
        self.on_wakeup: Callable[[], None] | None = None

    # -- producer (helpers) --------------------------------------------
    def reserve(self, size: int) -> bytearray | None:
        """A zeroed record buffer of ``size`` bytes, or None when there is no room."""
        span = (size + HDR_SIZE + 7) & ~7
        with self._lock:
            if size < 0 or self.prod_pos + span - self.cons_pos > self.size:
                self.dropped += 1
                return None
            rec = _Record(bytearray(size), span)
            self.prod_pos += span
            self._records.append(rec)
            self._by_buf[id(rec.buf)] = rec
            return rec.buf

    def _finish(self, buf: bytearray, state: int, flags: int) -> None:
        with self._lock:
            rec = self._by_buf.pop(id(buf), None)
            if rec is None or rec.buf is not buf:
                raise ValueError(f"ring buffer {self.name!r}: record is not reserved")
            rec.state = state
        if self.on_wakeup is not None and not flags & RB_NO_WAKEUP:
            self.on_wakeup()

    def submit(self, buf: bytearray, flags: int = 0) -> None:
        self._finish(buf, _DONE, flags)

    def discard(self, buf: bytearray, flags: int = 0) -> None:
        self._finish(buf, _DISCARDED, flags)

    def output(self, data: bytes, flags: int = 0) -> int:
        """bpf_ringbuf_output: 0, or -EAGAIN when full, -EINVAL for bad flags."""
        if flags & ~(RB_NO_WAKEUP | RB_FORCE_WAKEUP):
            return -errno.EINVAL
        buf = self.reserve(len(data))
        if buf is None:
            return -errno.EAGAIN
        buf[:] = data
        self.submit(buf, flags)
        return 0

    def query(self, flags: int) -> int:
        if flags == RB_AVAIL_DATA:
            return self.prod_pos - self.cons_pos
        if flags == RB_RING_SIZE:
            return self.size
        if flags == RB_CONS_POS:
            return self.cons_pos
        if flags == RB_PROD_POS:
            return self.prod_pos
        return 0

    # -- consumer (user space) -----------------------------------------
    def consume(self) -> list[bytes]:
        """Every committed record in order, up to the first one still reserved."""
        out: list[bytes] = []
        with self._lock:
            records = self._records
            while records and records[0].state != _BUSY:
                rec = records.popleft()
                if rec.state == _DONE:
                    out.append(bytes(rec.buf))
                self.cons_pos += rec.span
        return out

    def available(self) -> int:
        """How many records a consume() would return now."""
        n = 0
        for rec in self._records:
            if rec.state == _BUSY:
                break
            n += rec.state == _DONE
        return n

    # -- the generic map surface does not apply ------------------------
    def lookup_raw(self, key: bytes) -> bytes | None:
        return None

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        raise MapOpError(self.name, "update", errno.EINVAL)

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        return None

    def __len__(self) -> int:
        return 0
