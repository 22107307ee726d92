"""/proc/kallsyms: kernel addresses ↔ names, for kernel stacks and kprobe targets."""

from __future__ import annotations

import bisect
import functools

from .._record import dataclass


@dataclass(frozen=True, slots=True)
class KSym:
    addr: int
    name: str
    type: str
    module: str = ""


class Kallsyms:
    """A sorted table of kernel symbols; lookups by address use bisect."""

    def __init__(self, text: str) -> None:
        syms: list[KSym] = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            mod = parts[3].strip("[]") if len(parts) > 3 else ""
            syms.append(KSym(int(parts[0], 16), parts[2], parts[1], mod))
        syms.sort(key=lambda s: s.addr)
        self.symbols = syms
        self._addrs = [s.addr for s in syms]
        self._names: dict[str, KSym] = {}
        for s in syms:
            self._names.setdefault(s.name, s)

    @property
    def restricted(self) -> bool:
        """True when every address reads as 0 (kptr_restrict, not root)."""
        return bool(self.symbols) and self.symbols[-1].addr == 0

    def address(self, name: str) -> int | None:
        s = self._names.get(name)
        return s.addr if s else None

    def lookup(self, addr: int) -> tuple[KSym, int] | None:
        """The symbol at or before ``addr`` and the offset into it."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0 or self.restricted:
            return None
        s = self.symbols[i]
        return s, addr - s.addr

    def format(self, addr: int, offset: bool = True) -> str:
        hit = self.lookup(addr)
        if hit is None:
            return f"0x{addr:x}"
        s, off = hit
        return f"{s.name}+{off}" if offset else s.name


@functools.cache
def kallsyms() -> Kallsyms:
    with open("/proc/kallsyms") as f:
        return Kallsyms(f.read())
