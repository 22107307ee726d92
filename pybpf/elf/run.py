"""Run one program of an object on given input (``pybpf run OBJ.o --section S --mem HEX``).

The vm engineer's ``run_cmd`` calls ``run_object_program``; test-runnable types are
those BPF_PROG_TEST_RUN accepts (xdp, tc, socket filter, raw tracepoint, syscall...).
"""

from __future__ import annotations

from ..collection import RunResult
from ..errors import PybpfError
from .object import ObjectSpec

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def pick_program(spec: ObjectSpec, section: str | None) -> str:
    """The program named ``section`` or living in section ``section`` (the only one if None)."""
    if section is None:
        if len(spec.programs) != 1:
            raise PybpfError(f"{spec.path}: {len(spec.programs)} programs; choose one with "
                             f"--section ({', '.join(p.section for p in spec.programs.values())})")
        return next(iter(spec.programs))
    if section in spec.programs:
        return section
    hits = [n for n, p in spec.programs.items() if p.section == section]
    if len(hits) != 1:
        raise PybpfError(f"{spec.path}: {'no' if not hits else 'several'} programs in section "
                         f"{section!r} (sections: "
                         f"{', '.join(sorted({p.section for p in spec.programs.values()}))})")
    return hits[0]


def run_object_program(path: str, section: str | None = None, data: bytes = b"", *,
                       ctx: bytes | None = None, backend: str = "vm", repeat: int = 1,
                       variables: dict[str, Any] | None = None,
                       **options: Any) -> RunResult:
    """Load only the chosen program (and the maps) of ``path`` and test-run it once."""
    from .loader import load_collection_spec

    spec = load_collection_spec(path)
    name = pick_program(spec, section)
    for other, ps in spec.programs.items():
        ps.autoload = other == name
    for var, value in (variables or {}).items():
        spec.set_var(var, value)
    coll = spec.load(backend, **options)
    try:
        return coll.programs[name].test_run(data, ctx=ctx, repeat=repeat)
    finally:
        coll.close()
