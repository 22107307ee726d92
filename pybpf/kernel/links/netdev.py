"""Network interface names → ifindex, shared by the XDP and tcx links."""

from __future__ import annotations

import socket

from ...errors import PybpfError


def ifindex(dev: str | int) -> int:
    if isinstance(dev, int):
        return dev
    if dev.isdigit():
        return int(dev)
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise PybpfError(f"network interface {dev!r} does not exist "
                         "(list them with `ip link`)") from None
