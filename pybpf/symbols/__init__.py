"""Symbols: ELF symbol tables, library lookup, uprobe offsets, kallsyms, user maps, USDT."""

from .elf import ElfFile, Symbol, open_elf
from .kallsyms import Kallsyms, kallsyms
from .ldcache import find_library, resolve_binary
from .procmaps import Mapping, UserSymbolizer, parse_maps, read_maps
from .uprobe import function_names, uprobe_offset
from .usdt import UsdtArg, UsdtProbe, find_probes, parse_arg, parse_args, read_probes

__all__ = [
    "ElfFile", "Kallsyms", "Mapping", "Symbol", "UsdtArg", "UsdtProbe", "UserSymbolizer",
    "find_library", "find_probes", "function_names", "kallsyms", "open_elf", "parse_arg",
    "parse_args", "parse_maps", "read_maps", "read_probes", "resolve_binary", "uprobe_offset",
]
