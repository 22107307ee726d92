"""CollectionSpec → live vm Collection (what ``CollectionSpec.load(backend="vm")`` calls)."""

from __future__ import annotations

from typing import Any

from ..collection import Collection
from ..mapapi import Map
from ..spec import CollectionSpec
from .program import VmProgram


def load_collection(spec: CollectionSpec, **options: Any) -> Collection:
    """Create every map (``ncpus`` CPUs for per-CPU maps) and translate every program.

    Options: ``ncpus`` (default 1), and ``budget``, ``helpers``, ``trace``, ``seed``
    passed to each ``VmProgram``. Programs with ``autoload=False`` are skipped.
    """
    from .maps import create_map

    ncpus = int(options.pop("ncpus", 1))
    maps: dict[str, Map] = {name: create_map(ms, ncpus) for name, ms in spec.maps.items()}
    programs: dict[str, VmProgram] = {}
    for name, ps in spec.programs.items():
        if not ps.autoload:
            continue
        programs[name] = VmProgram(ps, maps, ncpus=ncpus, **options)
    return Collection(programs, maps)
