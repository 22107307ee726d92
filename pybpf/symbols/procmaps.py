"""/proc/PID/maps and user-space address → symbol, for user stacks (ustack)."""

from __future__ import annotations

import bisect

from .._record import dataclass
from ..errors import BadInput
from .elf import open_elf


@dataclass(frozen=True, slots=True)
class Mapping:
    start: int
    end: int
    perms: str
    offset: int
    inode: int
    path: str


def parse_maps(text: str) -> list[Mapping]:
    out: list[Mapping] = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        lo, hi = parts[0].split("-")
        out.append(Mapping(int(lo, 16), int(hi, 16), parts[1], int(parts[2], 16), int(parts[4]),
                           parts[5].strip() if len(parts) > 5 else ""))
    out.sort(key=lambda m: m.start)
    return out


def read_maps(pid: int) -> list[Mapping]:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return parse_maps(f.read())
    except FileNotFoundError:
        raise BadInput(f"process {pid} does not exist (anymore)") from None


class UserSymbolizer:
    """Resolves addresses of one process; reads its maps once (``refresh()`` to re-read)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.refresh()

    def refresh(self) -> None:
        self.maps = read_maps(self.pid)
        self._starts = [m.start for m in self.maps]

    def mapping(self, addr: int) -> Mapping | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.maps[i].end:
            return self.maps[i]
        return None

    def resolve(self, addr: int) -> tuple[str, int, str]:
        """(symbol or '', offset into it, path) for a user address."""
        m = self.mapping(addr)
        if m is None or not m.path.startswith("/"):
            return "", addr, m.path if m else ""
        try:
            elf = open_elf(f"/proc/{self.pid}/root{m.path}" if self.pid else m.path)
        except BadInput:
            return "", addr - m.start + m.offset, m.path
        vaddr = elf.offset_to_vaddr(addr - m.start + m.offset)
        hit = elf.symbolize(vaddr)
        if hit is None:
            return "", vaddr, m.path
        sym, off = hit
        return sym.name.split("@", 1)[0], off, m.path

    def format(self, addr: int, offset: bool = False) -> str:
        name, off, path = self.resolve(addr)
        if not name:
            return f"0x{addr:x}" if not path else f"0x{addr:x} ({path})"
        return f"{name}+{off}" if offset else name
