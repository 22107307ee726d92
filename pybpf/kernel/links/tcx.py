"""tcx links: SCHED_CLS programs on an interface's ingress or egress (6.6+)."""

from __future__ import annotations

from ...errors import PybpfError
from ...uapi import AttachType, Cmd
from ..syscall import LinkCreateAttr
from .base import Link, bpf_call, prog_fd_of
from .netdev import ifindex

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

DIRECTIONS = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


class TcxLink(Link):
    kind = "tcx"


def attach_tcx(prog: Any, dev: str | int, direction: str = "ingress") -> Link:
    """Attach at ``dev``'s ``ingress`` or ``egress`` (appended after existing programs)."""
    try:
        attach_type = DIRECTIONS[direction]
    except KeyError:
        raise PybpfError(f"attach tcx {dev}: unknown direction {direction!r} "
                         "(use ingress or egress)") from None
    # tcx.relative_fd = 0, tcx.expected_revision = 0 (left zero): append, any revision
    attr = LinkCreateAttr(prog_fd=prog_fd_of(prog), target_fd=ifindex(dev),
                          attach_type=attach_type)
    fd = bpf_call(Cmd.LINK_CREATE, attr, f"attach tcx {direction} {dev}")
    return TcxLink(f"{dev}/{direction}", link_fd=fd)
