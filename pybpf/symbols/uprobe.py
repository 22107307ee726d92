"""Where a uprobe goes: binary + symbol (or address) → file offset."""

from __future__ import annotations

from ..errors import PybpfError
from .elf import open_elf
from .ldcache import resolve_binary


def uprobe_offset(binary: str, symbol: str | int, offset: int = 0) -> tuple[str, int]:
    """(real path, file offset) of ``symbol`` (+``offset``) in ``binary``.

    ``symbol`` may be a name, or an int virtual address (as in ``uprobe:/bin/x:0x401000``).
    """
    path = resolve_binary(binary)
    elf = open_elf(path)
    if isinstance(symbol, int):
        vaddr = symbol
    else:
        sym = elf.symbol(symbol)
        if sym is None:
            raise PybpfError(f"{path}: no symbol {symbol!r} (is the binary stripped? "
                             "list functions with `nm -D`)")
        if sym.size and offset >= sym.size:
            raise PybpfError(f"{path}: offset {offset} is past the end of {symbol} "
                             f"({sym.size} bytes)")
        vaddr = sym.value
    return path, elf.vaddr_to_offset(vaddr + offset)


def function_names(binary: str, pattern: str = "*") -> list[str]:
    """Function symbols of ``binary`` matching a glob (for wildcard probes)."""
    import fnmatch

    elf = open_elf(resolve_binary(binary))
    return sorted({s.name.split("@", 1)[0] for s in elf.symbols
                   if s.is_func and fnmatch.fnmatchcase(s.name.split("@", 1)[0], pattern)})
