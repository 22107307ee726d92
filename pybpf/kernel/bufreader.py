"""What the ring buffer and perf buffer readers share.

Both read a map the program writes into, wake up through one epoll fd, and hand
batches to a callback; only how a batch is read differs (``consume``).
"""

from __future__ import annotations

import select

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any, Self


def map_params(m: Any) -> tuple[int, int, int]:
    """(fd, type, max_entries) of a map object (``.fd``) or a raw fd."""
    if not isinstance(m, int):
        return int(m.fd), int(m.type), int(m.max_entries)
    import ctypes

    from ..uapi import Cmd
    from .syscall import InfoAttr, MapInfo, addr_of, bpf

    info = MapInfo()
    bpf(Cmd.OBJ_GET_INFO_BY_FD, InfoAttr(bpf_fd=m, info_len=ctypes.sizeof(info),
                                         info=addr_of(info)), what=f"map fd {m}")
    return m, int(info.type), int(info.max_entries)


def set_u32(map_fd: int, key: int, value: int | None) -> None:
    """Store (or with ``None`` delete) a u32 value at u32 key ``key`` (BPF_MAP_*_ELEM)."""
    import ctypes

    from ..uapi import Cmd
    from .syscall import MapElemAttr, addr_of, bpf

    k = ctypes.c_uint32(key)
    attr = MapElemAttr(map_fd=map_fd, key=addr_of(k))
    if value is None:
        bpf(Cmd.MAP_DELETE_ELEM, attr, what=f"map fd {map_fd}")
        return
    v = ctypes.c_uint32(value)
    attr.value = addr_of(v)
    bpf(Cmd.MAP_UPDATE_ELEM, attr, what=f"map fd {map_fd}")


class EpollReader:
    """Blocking and polling on top of a subclass's ``consume()`` (records to the callback)."""

    callback: Any
    _epoll: select.epoll

    def consume(self) -> int:
        raise NotImplementedError

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever) for data, then ``consume()``."""
        if self.callback is None:
            raise ValueError("poll() hands records to the callback: pass one, or use "
                             "wait() and read()")
        n = self.consume()
        if n:
            return n
        self._epoll.poll(-1 if timeout is None else timeout)
        return self.consume()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until there is data (True) or ``timeout`` seconds pass (False); reads nothing."""
        return bool(self._epoll.poll(-1 if timeout is None else timeout))

    def fileno(self) -> int:
        """The epoll fd: readable when there is data (for a caller's own loop)."""
        return self._epoll.fileno()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
