"""Ask the running kernel's verifier for its verdict on the same program (root only).

Used by the agreement tests and the benchmark: the maps are created for real,
the program is loaded with BPF_PROG_LOAD and closed at once. ``time_us`` is the
kernel's own "verification time" from the stats log (log_level 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..asm.insn import Insn
from ..asm.opcodes import PseudoSrc
from ..spec import MapRef, MapSpec, ProgramSpec
from ..uapi import ProgType

_TIME = re.compile(r"verification time (\d+) usec")
_PROCESSED = re.compile(r"processed (\d+) insns")


@dataclass
class KernelVerdict:
    accepted: bool
    message: str  # the kernel's error line ("" when accepted)
    time_us: int | None
    processed: int | None
    log: str


def kernel_verify(insns: Sequence[Insn], prog_type: int, maps: Sequence[MapSpec] = (), *,
                  license: str = "GPL", stats: bool = False) -> KernelVerdict:
    """Load ``insns`` (lddw map loads: imm = index into ``maps``) and report the outcome."""
    refs = []
    fixed = list(insns)
    for i, ins in enumerate(insns):
        if ins.is_wide and ins.src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE) \
                and 0 <= ins.imm < len(maps):
            refs.append(MapRef(i, maps[ins.imm].name, ins.src, insns[i + 1].imm))
    spec = ProgramSpec("pybpf_vfy", ProgType(prog_type), fixed, license=license,
                       map_refs=refs)
    return kernel_verify_spec(spec, {m.name: m for m in maps}, stats=stats)


def kernel_verify_spec(spec: ProgramSpec, maps: Mapping[str, MapSpec], *,
                       stats: bool = False) -> KernelVerdict:
    """Load ``spec`` with fresh kernel maps made from ``maps`` and report the outcome."""
    from ..kernel.errors import BpfError, VerifierError
    from ..kernel.maps import KernelMap
    from ..kernel.programs import load_program

    live = {}
    try:
        for name, m in maps.items():
            try:
                plain = m.copy()
                plain.value_type = plain.key_type = None
                live[name] = KernelMap.create(plain)
            except BpfError as e:
                return KernelVerdict(False, f"map {name}: {e}", None, None, "")
        try:
            prog = load_program(spec, live, log_level=4 if stats else 0)
        except VerifierError as e:
            return KernelVerdict(False, e.summary, _int(_TIME, e.log), _int(_PROCESSED, e.log),
                                 e.log)
        except BpfError as e:
            return KernelVerdict(False, str(e), None, None, "")
        log = getattr(prog, "verifier_log", "") or ""
        prog.close()
        return KernelVerdict(True, "", _int(_TIME, log), _int(_PROCESSED, log), log)
    finally:
        for km in live.values():
            km.close()


def _int(rx: re.Pattern[str], text: str) -> int | None:
    m = rx.search(text)
    return int(m.group(1)) if m else None
