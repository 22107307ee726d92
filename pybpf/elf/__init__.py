"""Object files → CollectionSpec: clang-built, libbpf-style CO-RE objects.

    from pybpf.elf import load_collection_spec
    spec = load_collection_spec("x.bpf.o")      # an ObjectSpec (a CollectionSpec)
    spec.rodata["targ_pid"] = 1234               # globals by name, before load
    coll = spec.load()                           # maps, programs (kernel backend)
    coll.attach_all(); coll.maps["counts"].items(); spec.bss["hits"]

Sections follow libbpf's SEC() table (``sections.py``); maps come from ``.maps`` (BTF)
or legacy ``maps``; global data become single-entry array maps; CO-RE relocations are
resolved against the kernel's BTF; malformed objects raise ``BadInput`` naming the
section or instruction.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from .loader import load_collection_spec, load_object_bytes
    from .object import ObjectSpec

__all__ = ["ObjectSpec", "load_collection_spec", "load_object", "load_object_bytes"]


def load_object(path: str, **kw: Any) -> Any:
    """``pybpf.load_object("x.bpf.o")``: the ObjectSpec of an object file."""
    from .loader import load_collection_spec

    return load_collection_spec(path, **kw)


def __getattr__(name: str) -> Any:
    if name in ("load_collection_spec", "load_object_bytes"):
        from . import loader

        return getattr(loader, name)
    if name == "ObjectSpec":
        from .object import ObjectSpec

        return ObjectSpec
    raise AttributeError(f"module 'pybpf.elf' has no attribute {name!r}")
