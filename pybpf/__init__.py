"""pybpf: the eBPF system in pure Python.

The top level stays light (start-up is a feature): the entry points below
import their room only when called.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .elf.object import ObjectSpec
    from .lang.api import TraceSession


def load_object(path: str, **options: Any) -> ObjectSpec:
    """A clang-built libbpf-style object (``.bpf.o``) as a spec: ``load_object(p).load()``."""
    from .elf import load_object as _load_object

    return _load_object(path, **options)


def trace(script: str, **options: Any) -> TraceSession:
    """Start a bpftrace-compatible tracing session (see ``pybpf.lang.api.trace``)."""
    from .lang.api import trace as _trace

    return _trace(script, **options)


__all__ = ["__version__", "load_object", "trace"]
