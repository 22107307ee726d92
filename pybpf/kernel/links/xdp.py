"""XDP links (BPF_LINK_CREATE on an ifindex, 5.9+): detached when the link closes."""

from __future__ import annotations

import errno

from ...errors import PybpfError
from ...uapi import AttachType, Cmd
from ..syscall import LinkCreateAttr
from .base import Link, bpf_call, prog_fd_of
from .netdev import ifindex

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

# XDP_FLAGS_* (linux/if_link.h)
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
XDP_FLAGS_HW_MODE = 1 << 3
MODES = {"": 0, "generic": XDP_FLAGS_SKB_MODE, "skb": XDP_FLAGS_SKB_MODE,
         "native": XDP_FLAGS_DRV_MODE, "drv": XDP_FLAGS_DRV_MODE, "hw": XDP_FLAGS_HW_MODE}


_HINTS = {errno.EBUSY: "another XDP program is attached",
          errno.EOPNOTSUPP: "the driver has no native XDP; try mode='generic'"}


class XdpLink(Link):
    kind = "xdp"


def attach_xdp(prog: Any, dev: str | int, *, mode: str = "", flags: int = 0) -> Link:
    """Attach to interface ``dev``; ``mode`` is ``generic``/``native``/``hw`` or "" (driver's)."""
    if mode not in MODES:
        raise PybpfError(f"attach xdp {dev}: unknown mode {mode!r} (use generic, native or hw)")
    attr = LinkCreateAttr(prog_fd=prog_fd_of(prog), target_fd=ifindex(dev),
                          attach_type=AttachType.XDP, flags=flags | MODES[mode])
    fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach xdp {dev}", _HINTS)
    return XdpLink(str(dev), link_fd=fd)
