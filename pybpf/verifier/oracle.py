"""Ask the running kernel's verifier for its verdict on the same program (root only).

Used by the agreement tests and the benchmark: the maps are created for real,
the program is loaded with BPF_PROG_LOAD and closed at once. ``time_us`` is the
kernel's own "verification time" from the stats log (log_level 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..asm.insn import Insn
from ..asm.opcodes import PseudoSrc
from ..spec import MapRef, MapSpec, ProgramSpec
from ..uapi import ProgType

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

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
    from ..kernel.programs import load_program

    if not spec.func_info:
        spec = with_func_info(spec)
    live = {}
    try:
        for name, m in maps.items():
            try:
                live[name] = _create_map(m)
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


def _create_map(m: MapSpec) -> Any:
    """A kernel map for ``m``; a value with a bpf_spin_lock gets the BTF the kernel needs."""
    from ..kernel.maps import KernelMap
    from ..kernel.programs import load_btf
    from ..kernel.syscall import close_fd

    plain = m.copy()
    plain.value_type = plain.key_type = None
    lock = getattr(m.value_type, "spin_lock_off", None)
    if lock is None or m.key_size != 4 or lock % 4 or lock + 4 > m.value_size:
        return KernelMap.create(plain)
    from ..btf.build import BtfBuilder

    b = BtfBuilder()
    u32 = b.int_type("unsigned int", 4)
    u8 = b.int_type("unsigned char", 1)
    lock_t = b.struct("bpf_spin_lock", 4, [("val", u32, 0)])
    members: list[tuple[str, int, int]] = []
    if lock:
        members.append(("head", b.array(u8, lock), 0))
    members.append(("lock", lock_t, lock * 8))
    if m.value_size > lock + 4:
        members.append(("tail", b.array(u8, m.value_size - lock - 4), (lock + 4) * 8))
    value = b.struct("value", m.value_size, members)
    plain.btf_key_type_id, plain.btf_value_type_id = u32, value
    fd = load_btf(b.encode())
    try:
        return KernelMap.create(plain, btf_fd=fd)
    finally:
        close_fd(fd)


def with_func_info(spec: ProgramSpec) -> ProgramSpec:
    """``spec`` with minimal BTF func info when it has subprograms (the kernel wants it
    for callbacks such as bpf_loop's); every function is static, taking five longs."""
    from ..btf.build import BtfBuilder
    from ..btf.format import FUNC_STATIC
    from .cfg import CfgError, build

    try:
        subprogs = build(spec.insns).subprogs
    except CfgError:
        return spec
    if len(subprogs) < 2:
        return spec
    b = BtfBuilder()
    long_t = b.int_type("long", 8, signed=True)
    proto = b.func_proto(long_t, [(f"a{i}", long_t) for i in range(1, 6)])
    out = spec.copy()
    out.func_info = [(start, b.func(f"f{start}", proto, FUNC_STATIC)) for start in subprogs]
    out.btf = b.encode()
    return out


def _int(rx: re.Pattern[str], text: str) -> int | None:
    m = rx.search(text)
    return int(m.group(1)) if m else None
