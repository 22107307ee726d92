"""The userspace vm backend: programs translated to Python, checked memory, helpers, maps.

``VmProgram(spec, maps)`` makes one program live; ``load_collection`` (used by
``CollectionSpec.load(backend="vm")``) makes a whole collection live.
``register_helper`` adds helpers for every program.
"""

from __future__ import annotations

from .helpers import HELPERS, Helper, register_helper
from .memory import MemFault, Memory, VmError
from .program import DEFAULT_BUDGET, VmProgram

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from ..collection import Collection
    from ..spec import CollectionSpec


def load_collection(spec: CollectionSpec, **options: Any) -> Collection:
    """See ``pybpf.vm.collection.load_collection``."""
    from .collection import load_collection as _load

    return _load(spec, **options)


__all__ = ["DEFAULT_BUDGET", "HELPERS", "Helper", "MemFault", "Memory", "VmError", "VmProgram",
           "load_collection", "register_helper"]
