"""tcx links: SCHED_CLS programs on an interface's ingress or egress (6.6+)."""

from __future__ import annotations

import struct
from typing import Any

from ...uapi import AttachType
from . import _sys
from .base import Link, attach_errno, prog_fd_of
from .netdev import ifindex

DIRECTIONS = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


class TcxLink(Link):
    kind = "tcx"


def attach_tcx(prog: Any, dev: str | int, direction: str = "ingress") -> Link:
    """Attach at ``dev``'s ``ingress`` or ``egress`` (appended after existing programs)."""
    try:
        attach_type = DIRECTIONS[direction]
    except KeyError:
        raise attach_errno(f"tcx {dev}", OSError(22, f"unknown direction {direction!r}"),
                           "use ingress or egress") from None
    try:
        # tcx {u32 relative_fd|id; u64 expected_revision}: 0/0 = append, any revision
        fd = _sys.link_create(prog_fd_of(prog), ifindex(dev), attach_type, 0,
                              struct.pack("<IIQ", 0, 0, 0))
    except OSError as e:
        raise attach_errno(f"tcx {direction} {dev}", e) from None
    return TcxLink(f"{dev}/{direction}", link_fd=fd)
