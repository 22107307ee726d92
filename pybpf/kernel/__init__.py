"""The kernel backend: bpf() via ctypes, maps, programs, collections, pins, introspection.

Imports are lazy (``pybpf.kernel.KernelMap`` loads ``maps`` on first use) so a
one-liner that only needs, say, ``syscall`` pays for nothing else.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "bpf": "syscall",
    "BpfError": "errors",
    "BpfPermissionError": "errors",
    "BpfNotFound": "errors",
    "BpfInvalid": "errors",
    "BpfUnsupported": "errors",
    "VerifierError": "errors",
    "KernelMap": "maps",
    "load_map": "maps",
    "create_map": "maps",
    "possible_cpus": "maps",
    "KernelProgram": "programs",
    "load_program": "programs",
    "load_btf": "programs",
    "load_collection": "collection",
    "ensure_bpffs": "pin",
    "obj_get": "pin",
    "obj_pin": "pin",
    "features": "features",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf.kernel' has no attribute {name!r}")
    module = __import__(f"{__name__}.{mod}", fromlist=["_"])  # not importlib: start-up
    return module if name == mod else getattr(module, name)
