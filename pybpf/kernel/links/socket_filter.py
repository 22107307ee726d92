"""Socket filters: SO_ATTACH_BPF on a socket; SO_DETACH_BPF on close.

The socket, not this object, owns the attachment; closing the link detaches
the program but leaves the socket open.
"""

from __future__ import annotations

import socket

from .base import Link, attach_errno, prog_fd_of

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27  # == SO_DETACH_FILTER


class SocketFilterLink(Link):
    kind = "socket_filter"


def attach_socket_filter(prog: Any, sock: socket.socket | int) -> Link:
    s = sock if isinstance(sock, socket.socket) else socket.socket(fileno=sock)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, prog_fd_of(prog))
    except OSError as e:
        raise attach_errno(f"socket filter on fd {s.fileno()}", e) from None

    def detach() -> None:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_DETACH_BPF, 0)
        except OSError:
            pass  # socket already closed
        if not isinstance(sock, socket.socket):
            s.detach()  # do not close a socket we only borrowed

    return SocketFilterLink(f"socket fd {s.fileno()}", on_close=detach)
