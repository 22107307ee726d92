"""CollectionSpec → live vm Collection (what ``CollectionSpec.load(backend="vm")`` calls)."""

from __future__ import annotations

from ..collection import Collection
from ..mapapi import Map
from ..spec import CollectionSpec
from .program import VmProgram

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def load_collection(spec: CollectionSpec, **options: Any) -> Collection:
    """Create every map (``ncpus`` CPUs for per-CPU maps) and translate every program.

    Options: ``verify`` (default True: the static verifier must accept each program
    first, as the kernel's must; ``verify=False`` runs unverified programs under the
    vm's run-time checks alone), ``ncpus`` (default 1), and ``budget``, ``helpers``,
    ``trace``, ``seed`` passed to each ``VmProgram``. Programs with ``autoload=False``
    are skipped.
    """
    from .maps import create_map

    verify = bool(options.pop("verify", True))
    ncpus = int(options.pop("ncpus", 1))
    if verify:
        from ..verifier import check

        for ps in spec.programs.values():
            if ps.autoload:
                check(ps, maps=spec.maps)
    maps: dict[str, Map] = {name: create_map(ms, ncpus) for name, ms in spec.maps.items()}
    programs: dict[str, VmProgram] = {}
    for name, ps in spec.programs.items():
        if not ps.autoload:
            continue
        programs[name] = VmProgram(ps, maps, ncpus=ncpus, **options)
    return Collection(programs, maps)
