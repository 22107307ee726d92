"""BPF iterators: a TRACE_ITER link, and ``open()`` to read one pass as a file (5.8+)."""

from __future__ import annotations

import ctypes
import os
import struct

from ...uapi import AttachType, Cmd
from ..syscall import IterCreateAttr, LinkCreateAttr, addr_of
from .base import Link, bpf_call, prog_fd_of

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class IterLink(Link):
    kind = "iter"

    def open(self) -> int:
        """A new fd that runs the iterator once as it is read (caller closes it)."""
        return bpf_call(Cmd.ITER_CREATE, IterCreateAttr(link_fd=self.fd),
                        f"open iterator {self.target}")

    def read(self, chunk: int = 1 << 16) -> bytes:
        """Run the iterator to the end and return everything it wrote."""
        fd = self.open()
        parts = []
        try:
            while True:
                b = os.read(fd, chunk)
                if not b:
                    break
                parts.append(b)
        finally:
            os.close(fd)
        return b"".join(parts)


def attach_iter(prog: Any, target: str = "", *, map_fd: int = 0, tid: int = 0, pid: int = 0,
                pid_fd: int = 0) -> IterLink:
    """Link an iterator program (loaded with TRACE_ITER and the ``bpf_iter_<target>`` BTF id).

    ``map_fd`` for map element iterators; ``tid``/``pid``/``pid_fd`` restrict task iterators.
    """
    # union bpf_iter_link_info: map {u32 map_fd} | task {u32 tid; u32 pid; u32 pid_fd}
    if map_fd:
        info = struct.pack("<I12x", map_fd)
    elif tid or pid or pid_fd:
        info = struct.pack("<III4x", tid, pid, pid_fd)
    else:
        info = b""
    attr = LinkCreateAttr(prog_fd=prog_fd_of(prog), attach_type=AttachType.TRACE_ITER)
    buf = ctypes.create_string_buffer(info, max(len(info), 1))
    if info:
        attr.iter.iter_info, attr.iter.iter_info_len = addr_of(buf), len(info)
    fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach iterator {target}")
    return IterLink(target or "iter", link_fd=fd)
