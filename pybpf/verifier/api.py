"""``verify()``: the verifier's one entry point."""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping, Sequence

from ..asm.insn import DecodeError, Insn, check_insn, decode, validate_program
from ..errors import BadInput, PybpfError
from ..spec import CollectionSpec, MapSpec, ProgramSpec, SourceLoc
from ..uapi import ProgType
from . import cfg as cfgmod
from .analyze import Analyzer
from .base import IN_BOUNDS_KINDS, Reject
from .calls import CALL_MARK
from .report import Verdict, VerifierReport, insn_text
from .state import T, fmt_reg

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_GPL = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
        "Dual MPL/GPL"}
PROG_TYPES = {
    "socket": ProgType.SOCKET_FILTER, "socket_filter": ProgType.SOCKET_FILTER,
    "xdp": ProgType.XDP, "tc": ProgType.SCHED_CLS, "sched_cls": ProgType.SCHED_CLS,
    "sched_act": ProgType.SCHED_ACT, "kprobe": ProgType.KPROBE,
    "tracepoint": ProgType.TRACEPOINT, "perf_event": ProgType.PERF_EVENT,
    "raw_tracepoint": ProgType.RAW_TRACEPOINT, "raw_tp": ProgType.RAW_TRACEPOINT,
    "cgroup_skb": ProgType.CGROUP_SKB, "tracing": ProgType.TRACING,
}


def prog_type_of(name: str | int | ProgType) -> ProgType:
    if isinstance(name, ProgType):
        return name
    if isinstance(name, int):
        return ProgType(name)
    key = name.lower().replace("-", "_")
    if key in PROG_TYPES:
        return PROG_TYPES[key]
    try:
        return ProgType[key.upper()]
    except KeyError:
        raise BadInput(f"unknown program type {name!r}; use one of "
                       f"{', '.join(sorted(PROG_TYPES))}") from None


def verify(prog: ProgramSpec | CollectionSpec | Sequence[Insn] | bytes,
           prog_type: str | int | None = None,
           maps: Mapping[str, MapSpec] | Sequence[MapSpec] | None = None, *,
           license: str | None = None, privileged: bool = True, strict_stack: bool = True,
           max_insns: int = 1_000_000, log: bool = False) -> Verdict:
    """Statically check ``prog``; ``maps`` are the maps its ``lddw`` map loads refer to.

    With raw instructions an ``lddw`` map load's imm is an index into ``maps``; with a
    ``ProgramSpec`` its ``map_refs`` name the maps (a ``CollectionSpec`` of one program
    brings its own). ``privileged`` checks as for root (loops, pointer arithmetic and
    leaks allowed, like CAP_BPF+CAP_PERFMON); ``strict_stack`` also refuses reads of
    never-written stack bytes, which the kernel allows for CAP_PERFMON (pass False to
    match it). ``max_insns`` is the complexity budget; ``log`` records each instruction
    processed with the registers it reads (``Verdict.log``).
    """
    # The walk allocates many small acyclic objects; the cyclic collector would rescan
    # every stored state again and again (about a third of the run time) for nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify(prog, prog_type, maps, license, privileged, strict_stack, max_insns,
                       log)
    finally:
        if was_enabled:
            gc.enable()


def _verify(prog: ProgramSpec | CollectionSpec | Sequence[Insn] | bytes,
            prog_type: str | int | None, maps: Mapping[str, MapSpec] | Sequence[MapSpec] | None,
            license: str | None, privileged: bool, strict_stack: bool, max_insns: int,
            log: bool) -> Verdict:
    t0 = time.perf_counter()
    if isinstance(prog, CollectionSpec):
        if len(prog.programs) != 1:
            raise BadInput(f"the collection has {len(prog.programs)} programs "
                           f"({', '.join(prog.programs)}); verify them one at a time")
        if maps is None:
            maps = prog.maps
        prog = next(iter(prog.programs.values()))
    spec = prog if isinstance(prog, ProgramSpec) else None
    if spec is not None:
        insns: list[Insn] = list(spec.insns)
        ptype = prog_type_of(prog_type if prog_type is not None else spec.type)
        lic = license if license is not None else spec.license
    else:
        raw: Any = prog
        insns = decode(raw, validate=False) if isinstance(raw, bytes | bytearray) else list(raw)
        ptype = prog_type_of(prog_type if prog_type is not None else ProgType.SOCKET_FILTER)
        lic = license if license is not None else "GPL"
    map_list, names = _maps(maps)
    lddw_map: dict[int, tuple[int, int, int]] = {}
    source = spec.source_map if spec is not None else {}
    try:
        if spec is not None:
            for ref in spec.map_refs:
                if ref.name not in names:
                    raise Reject(ref.index, f"map '{ref.name}' used by insn {ref.index} was not "
                                            "given; pass it in maps", None)
                lddw_map[ref.index] = (names[ref.name], ref.offset, int(ref.kind))
        _validate(insns)
        try:
            graph = cfgmod.build(insns)
        except cfgmod.CfgError as e:
            raise Reject(e.index, e.reason, None) from None
        an = Analyzer(insns, graph, ptype, map_list, lddw_map, gpl=lic in _GPL,
                      privileged=privileged, strict_stack=strict_stack,
                      max_insns=max_insns)
        if log:
            an.log = []
        if not privileged and graph.back_edges:
            a, b = graph.back_edges[0]
            raise Reject(a, f"the jump from insn {a} back to insn {b} makes a loop; loops are "
                            "allowed only for privileged programs", None)
        an.run()
        an.check_stack_depth()
    except Reject as e:
        partial: Analyzer | None = locals().get("an")
        return Verdict(False, [_report(insns, e, source)], _stats(partial, t0),
                       (partial.log or []) if partial is not None else [])
    safe = frozenset(pc for pc, k in an.mem_kinds.items() if not k & ~IN_BOUNDS_KINDS)
    return Verdict(True, [], _stats(an, t0), an.log or [], safe)


class VerifierRejected(PybpfError):
    """``check`` refused a program; the message is one line, ``report`` has the details."""

    def __init__(self, report: VerifierReport, verdict: Verdict) -> None:
        where = f"{report.source}: " if report.source else ""
        text = f" ({report.insn_text})" if report.insn_text else ""
        super().__init__(f"{where}verifier rejected insn {report.index}{text}: {report.reason}")
        self.report, self.verdict = report, verdict
        self.index, self.reason = report.index, report.reason


def check(prog: ProgramSpec | CollectionSpec | Sequence[Insn] | bytes,
          prog_type: str | int | None = None,
          maps: Mapping[str, MapSpec] | Sequence[MapSpec] | None = None,
          **options: Any) -> None:
    """Verify ``prog`` and raise ``VerifierRejected`` (a ``PybpfError``) if it is unsafe.

    For a runtime to call before running a program; ``options`` are ``verify``'s.
    """
    safe_accesses(prog, prog_type, maps, **options)


def safe_accesses(prog: ProgramSpec | CollectionSpec | Sequence[Insn] | bytes,
                  prog_type: str | int | None = None,
                  maps: Mapping[str, MapSpec] | Sequence[MapSpec] | None = None,
                  **options: Any) -> frozenset[int]:
    """Like ``check``, and return the load/store instruction indexes proven in bounds.

    An accepted program's memory accesses through the stack, a map value, a ring
    buffer record or the packet (after its data_end check) stay inside that object on
    every path, so an interpreter may skip its run-time bounds check there. Context
    and BTF pointer accesses are not in the set (their layout is the kernel's).
    """
    verdict = verify(prog, prog_type, maps, **options)
    if not verdict.accepted:
        raise VerifierRejected(verdict.errors[0], verdict)
    return verdict.safe_accesses


_LDDW_OP = 0x18  # BPF_LD | BPF_IMM | BPF_DW
_CHECKED: set[Insn] = set()  # instructions already found valid (programs repeat them)


def _validate(insns: list[Insn]) -> None:
    """``validate_program``, checking each distinct instruction once (programs repeat them).

    Anything unusual (an invalid slot, a malformed 64-bit load) falls back to the full
    pass, which names the first bad instruction.
    """
    known = _CHECKED
    ops = [ins.opcode for ins in insns]
    wide = [i for i, op in enumerate(ops) if op == _LDDW_OP]
    n = len(insns)
    ok = ops.count(0) == len(wide) and all(
        i + 1 < n and not (insns[i + 1].opcode or insns[i + 1].dst or insns[i + 1].src
                           or insns[i + 1].off) for i in wide)
    fresh = set(insns) - known if ok else set()
    if not ok or any(ins.opcode and check_insn(ins) for ins in fresh):
        try:
            validate_program(insns)
        except DecodeError as e:
            raise Reject(e.index, e.reason, None) from None
        return
    if len(known) > 1 << 16:
        known.clear()
    known |= fresh


def _maps(maps: Mapping[str, MapSpec] | Sequence[MapSpec] | None,
          ) -> tuple[list[MapSpec], dict[str, int]]:
    if maps is None:
        return [], {}
    if isinstance(maps, Mapping):
        lst = list(maps.values())
        return lst, {k: i for i, k in enumerate(maps)}
    lst = list(maps)
    return lst, {m.name: i for i, m in enumerate(lst)}


def _stats(an: Analyzer | None, t0: float) -> dict[str, int]:
    us = int((time.perf_counter() - t0) * 1e6)
    if an is None:
        return {"insns_processed": 0, "states": 0, "peak_states": 0, "time_us": us}
    return {"insns_processed": an.processed, "states": an.states,
            "peak_states": an.peak_states, "time_us": us,
            "stack_depth": an.depth.get(0, 0)}


def _report(insns: Sequence[Insn], e: Reject, source: Mapping[int, SourceLoc]) -> VerifierReport:
    idx = e.pc
    text = insn_text(insns, idx) if 0 <= idx < len(insns) else ""
    regs: dict[str, str] = {}
    path: list[str] = []
    if e.state is not None:
        f = e.state.cur
        for i, r in enumerate(f.regs):
            if r.t != T.NOT_INIT:
                regs[f"r{i}"] = fmt_reg(r)
        for s in sorted(f.spills):
            regs[f"fp{s - 512}"] = fmt_reg(f.spills[s])
        node: Any = e.state.path
        steps: list[str] = []
        while node is not None and len(steps) < 64:
            v, node = node
            if v >= CALL_MARK:
                steps.append(f"{v - CALL_MARK} (call)")
            else:
                steps.append(f"{v} (jump taken)" if v >= 0 else f"{~v} (fall through)")
        steps.reverse()
        path = steps if steps and steps[0].split()[0] == "0" else ["0"] + steps
        if path[-1].split()[0] != str(idx):
            path.append(str(idx))
    return VerifierReport(idx, text, e.reason, regs, path, _source_of(source, idx))


def _source_of(source: Mapping[int, SourceLoc], idx: int) -> SourceLoc | None:
    if idx in source:
        return source[idx]
    best = [k for k in source if k <= idx]
    return source[max(best)] if best else None
