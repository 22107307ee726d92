"""Print-time symbolization of kernel/user addresses and stacks, worded as bpftrace's.

The programs only record addresses (or stack ids); names are looked up here when a
value is printed: kernel addresses through /proc/kallsyms, user addresses through
/proc/PID/maps and the mapped file's ELF symbols. Anything unresolvable prints as
its address (``0x...``), with ``([unknown])`` where bpftrace names the module.
"""

from __future__ import annotations

import bisect
import struct

from .._record import dataclass

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class StackValue:
    """A symbolized stack; ``text(indent)`` lays it out as bpftrace does (a map key uses
    an indent of 4, values and printf an indent of 8)."""

    frames: tuple[str, ...]
    mode: str = "bpftrace"

    def text(self, indent: int = 8) -> str:
        if not self.frames:
            return ""
        if self.mode == "perf":
            return "\n" + "".join(f"\t{f}\n" for f in self.frames)
        if self.mode == "raw":
            return "\n" + "".join(f"{f}\n" for f in self.frames)
        pad = " " * indent
        return "\n" + "".join(f"{pad}{f}\n" for f in self.frames)

    def __str__(self) -> str:
        return self.text(8)


def _raw(addr: int) -> str:
    """An unresolved address as C++ streams print a ``void*``: NULL is "0"."""
    return f"0x{addr:x}" if addr else "0"


class Symbolizer:
    """Caches kallsyms and one ``UserSymbolizer`` per process for a whole session."""

    def __init__(self) -> None:
        self._ksyms: Any = None
        self._users: dict[int, Any] = {}

    def _kernel(self) -> Any:
        if self._ksyms is None:
            try:
                from ..symbols import kallsyms

                self._ksyms = kallsyms()
            except OSError:
                self._ksyms = False
        return self._ksyms

    def ksym(self, addr: int, offset: bool = False) -> str:
        """``name`` (``name+off`` with ``offset``) or ``0x...`` when not a kernel symbol."""
        ks = self._kernel()
        hit = ks.lookup(addr) if ks and addr else None
        if hit is None:
            return _raw(addr)
        sym, off = hit
        # aliases at one address: the last listed, skipping early-boot "__pi_" copies
        lo = bisect.bisect_left(ks._addrs, sym.addr)
        hi = bisect.bisect_right(ks._addrs, sym.addr)
        names = [s for s in ks.symbols[lo:hi] if not s.name.startswith("__pi_")]
        if names:
            sym = names[-1]
        return f"{sym.name}+{off}" if offset else sym.name

    def _user(self, pid: int) -> Any:
        if pid not in self._users:
            try:
                from ..symbols import UserSymbolizer

                self._users[pid] = UserSymbolizer(pid)
            except Exception:  # noqa: BLE001 - the process is gone: addresses stay raw
                self._users[pid] = None
        return self._users[pid]

    def usym(self, addr: int, pid: int, offset: bool = False, module: bool = False) -> str:
        """bpftrace's resolve_usym: ``name[+off][ (module)]`` or ``0x...[ ([unknown])]``."""
        us = self._user(pid)
        name, off, path = "", 0, ""
        if us is not None:
            try:
                name, off, path = us.resolve(addr)
            except Exception:  # noqa: BLE001 - unreadable ELF: raw address
                name = ""
        if not name:
            return _raw(addr) + (" ([unknown])" if module else "")
        text = f"{name}+{off}" if offset else name
        return text + (f" ({path})" if module else "")

    def stack(self, raw: bytes | None, user: bool, pid: int, mode: str) -> StackValue:
        """Frames of a STACK_TRACE map value (``None`` when the id had no entry)."""
        if not raw:
            return StackValue((), mode)
        addrs = [a for (a,) in struct.iter_unpack("<Q", raw[:len(raw) & ~7])]
        if 0 in addrs:
            addrs = addrs[:addrs.index(0)]
        if mode == "raw":
            return StackValue(tuple(f"{a:x}" for a in addrs), mode)
        if user:
            syms = [self.usym(a, pid, True, mode == "perf") for a in addrs]
        else:
            syms = [self.ksym(a, True) for a in addrs]
        if mode == "perf":
            return StackValue(tuple(f"{a:x} {s}" for a, s in zip(addrs, syms, strict=True)),
                              mode)
        return StackValue(tuple(syms), mode)
