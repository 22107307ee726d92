"""XDP links (BPF_LINK_CREATE on an ifindex, 5.9+): detached when the link closes."""

from __future__ import annotations

from typing import Any

from ...uapi import AttachType
from . import _sys
from .base import Link, attach_errno, prog_fd_of
from .netdev import ifindex

# XDP_FLAGS_* (linux/if_link.h)
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
XDP_FLAGS_HW_MODE = 1 << 3
MODES = {"": 0, "generic": XDP_FLAGS_SKB_MODE, "skb": XDP_FLAGS_SKB_MODE,
         "native": XDP_FLAGS_DRV_MODE, "drv": XDP_FLAGS_DRV_MODE, "hw": XDP_FLAGS_HW_MODE}


class XdpLink(Link):
    kind = "xdp"


def attach_xdp(prog: Any, dev: str | int, *, mode: str = "", flags: int = 0) -> Link:
    """Attach to interface ``dev``; ``mode`` is ``generic``/``native``/``hw`` or "" (driver's)."""
    if mode not in MODES:
        raise attach_errno(f"xdp {dev}", OSError(22, f"unknown mode {mode!r}"),
                           "use generic, native or hw")
    idx = ifindex(dev)
    try:
        fd = _sys.link_create(prog_fd_of(prog), idx, AttachType.XDP, flags | MODES[mode])
    except OSError as e:
        hint = {16: "another XDP program is attached", 95: "the driver has no native XDP; "
                "try mode='generic'"}.get(e.errno or 0, "")
        raise attach_errno(f"xdp {dev}", e, hint) from None
    return XdpLink(str(dev), link_fd=fd)
