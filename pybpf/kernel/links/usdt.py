"""USDT probes: a uprobe at each note location, with the semaphore counted by the kernel.

The kernel increments the probe's semaphore (uprobe ``ref_ctr_offset``) while
attached, so guarded probe sites (``if (PROVIDER_NAME_ENABLED())``) start firing.
"""

from __future__ import annotations

from ...errors import PybpfError
from ...symbols import find_probes
from ...symbols.usdt import UsdtProbe
from .base import Link, MultiLink, attach_each
from .uprobe import attach_uprobe_offset

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class UsdtLink(MultiLink):
    kind = "usdt"

    def __init__(self, target: str, links: list[Link], probes: list[UsdtProbe]) -> None:
        super().__init__(target, links)
        self.probes = probes


def attach_usdt(prog: Any, binary: str, provider: str, name: str, *, pid: int = -1) -> UsdtLink:
    """Attach to every location of USDT probe ``provider:name`` in ``binary``.

    One program serves all locations; each link carries the location's index as its
    bpf cookie, so a program can tell locations whose arguments live in different
    places apart (``pybpf trace`` reads ``argN`` that way).
    """
    probes = find_probes(binary, provider, name)
    if not probes:
        raise PybpfError(f"usdt:{binary}:{provider}:{name}: no such probe "
                         "(list them with `readelf -n` on the binary)")

    def at(ip: tuple[int, UsdtProbe]) -> Link:
        i, p = ip
        return attach_uprobe_offset(prog, p.path, p.file_offset, pid=pid,
                                    ref_ctr_offset=p.semaphore_offset, cookie=i,
                                    label=f"{p.provider}:{p.name}")

    links = attach_each(enumerate(probes), at)
    return UsdtLink(f"usdt:{probes[0].path}:{provider}:{name}", links, probes)
