"""The session's ring buffer, created while the script compiles.

A 16 MiB ring buffer costs the kernel ~2.5 ms to allocate and zero at BPF_MAP_CREATE,
on the path from start to attached. The size is known before the script is parsed, so
a thread creates the map while the main thread compiles (the syscall runs without the
GIL); the session takes it if its spec asks for that ring, and closes it otherwise.
Any failure here is silent: the session then creates the map itself and reports.
"""

from __future__ import annotations

import threading

# imported here, in the main thread: the thread only makes the syscall (two threads
# importing at once can deadlock on module locks)
from ..kernel.maps import KernelMap
from ..spec import MapSpec
from ..uapi import MapType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class RingPrep:
    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        self._map: Any = None
        self._thread = threading.Thread(target=self._create, name="pybpf-ring", daemon=True)
        self._thread.start()

    def _create(self) -> None:
        try:
            self._map = KernelMap.create(MapSpec(self.name, MapType.RINGBUF, 0, 0, self.size))
        except Exception:  # noqa: BLE001 - the session creates it again and reports
            self._map = None

    def take(self, ms: Any) -> Any:
        """The map, if it is the ring ``ms`` (a MapSpec) describes; else None (and closed)."""
        self._thread.join()
        m, self._map = self._map, None
        if m is not None and (ms is None or ms.max_entries != self.size):
            m.close()
            return None
        return m

    def discard(self) -> None:
        self.take(None)
