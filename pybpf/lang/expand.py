"""Compile for the kernel: the compiler plus what only the live system knows.

bpftrace turns ``tracepoint:syscalls:sys_enter_*`` into one attach point per
matching tracepoint before code generation, so ``probe`` is a constant in each
program. ``compile_script`` takes an ``expand`` hook for that; this module gives
it one backed by tracefs (listing only the categories the glob can match).
"""

from __future__ import annotations

from .probes import ProbeSpec
from .script import CompiledScript

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

if TYPE_CHECKING:
    ListFn = Callable[[str], list[str]]


def _tracefs_list(pattern: str) -> list[str]:
    from ..kernel.tracefs import list_tracepoints

    return list_tracepoints(pattern)


_formats: dict[str, Any] = {}


def _tracefs_format(name: str) -> Any:
    """tracefs is read (and imported) only when a script names a tracepoint, and each
    format once (the semantic pass asks again on its second round)."""
    fmt = _formats.get(name)
    if fmt is None:
        from ..kernel.tracefs import tracepoint_format

        fmt = _formats[name] = tracepoint_format(name)
    return fmt


def expander(list_tracepoints: ListFn = _tracefs_list) -> Callable[[ProbeSpec], list[ProbeSpec]]:
    """The ``expand`` hook: a wildcard tracepoint → one ProbeSpec per match, sorted."""
    def expand(spec: ProbeSpec) -> list[ProbeSpec]:
        if spec.provider != "tracepoint":
            return [spec]
        out = []
        for t in list_tracepoints(f"{spec.target}:{spec.func}"):
            cat, name = t.split(":", 1)
            out.append(ProbeSpec("tracepoint", cat, name, raw=f"tracepoint:{t}"))
        return out

    return expand


def compile_for_kernel(source: str, filename: str = "stdin", *, unsafe: bool = False,
                       params: list[str] | None = None,
                       list_tracepoints: ListFn = _tracefs_list,
                       tracepoint_format: Any = "tracefs",
                       child: bool | None = False) -> CompiledScript:
    """``compile_script`` with wildcard tracepoints expanded; raises ``CompileError``."""
    from . import compile_script  # the one that pauses the collector

    if tracepoint_format == "tracefs":
        tracepoint_format = _tracefs_format
    return compile_script(source, filename, unsafe=unsafe, params=params,
                          tracepoint_format=tracepoint_format,
                          expand=expander(list_tracepoints), child=child)
