"""Control flow checked before any state is tracked.

Finds subprograms (targets of BPF-to-BPF calls and of ``lddw`` function
pointers), checks every jump lands inside its own subprogram and not in the
second slot of an ``lddw``, that every subprogram ends in exit or a jump, that
every instruction is reachable, and computes which registers are live at each
instruction (so state pruning can ignore dead ones).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..asm.insn import Insn
from ..asm.opcodes import CallSrc, Class, Jmp, Mode, PseudoSrc

ALL_REGS = (1 << 11) - 1
ARGS = 0b111110  # r1-r5
CALLER_SAVED = 0b111111  # r0-r5


class CfgError(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


@dataclass
class Cfg:
    subprogs: list[int]  # sorted start indices
    succ: list[tuple[int, ...]]
    live_in: list[int]
    prune: set[int] = field(default_factory=set)
    back_edges: list[tuple[int, int]] = field(default_factory=list)
    callbacks: set[int] = field(default_factory=set)  # subprogs used as function pointers

    def subprog_of(self, pc: int) -> int:
        return self.subprogs[bisect_right(self.subprogs, pc) - 1]


def jump_target(pc: int, ins: Insn) -> int:
    if ins.cls == Class.JMP32 and ins.opcode & 0xF0 == Jmp.JA:
        return pc + 1 + ins.imm
    return pc + 1 + ins.off


def is_cond_jump(ins: Insn) -> bool:
    return ins.cls in (Class.JMP, Class.JMP32) and ins.opcode & 0xF0 not in (
        Jmp.JA, Jmp.CALL, Jmp.EXIT)


def build(insns: Sequence[Insn]) -> Cfg:
    n = len(insns)
    if n == 0:
        raise CfgError(0, "the program is empty: it needs at least an exit instruction")
    wide_second = set()
    starts = {0}
    callbacks = set()
    i = 0
    while i < n:
        ins = insns[i]
        if ins.is_wide:
            wide_second.add(i + 1)
            if ins.src == PseudoSrc.FUNC:
                t = i + 1 + ins.imm
                if not 0 <= t < n:
                    raise CfgError(i, f"function pointer points to insn {t}, outside the program")
                starts.add(t)
                callbacks.add(t)
            i += 2
            continue
        if ins.cls == Class.JMP and ins.opcode & 0xF0 == Jmp.CALL and ins.src == CallSrc.LOCAL \
                and not ins.source:
            t = i + 1 + ins.imm
            if not 0 <= t < n:
                raise CfgError(i, f"call to insn {t}, outside the program (0..{n - 1})")
            if t in wide_second:
                raise CfgError(i, f"call into the middle of the 64-bit load at insn {t - 1}")
            starts.add(t)
        i += 1
    subprogs = sorted(starts)
    for t in subprogs:
        if t in wide_second:
            raise CfgError(t, f"subprogram starts in the middle of the 64-bit load at insn {t - 1}")
    ends = subprogs[1:] + [n]
    succ: list[tuple[int, ...]] = [()] * n
    prune: set[int] = set(subprogs)
    for s, e in zip(subprogs, ends, strict=True):
        last = e - 1
        if last in wide_second or not _ends_block(insns[last]):
            raise CfgError(last, "the last instruction of a function must be exit or a jump; "
                                 "execution would fall off its end")
        i = s
        while i < e:
            ins = insns[i]
            if ins.is_wide:
                succ[i] = (i + 2,)
                i += 2
                continue
            cls = ins.cls
            if cls in (Class.JMP, Class.JMP32):
                code = ins.opcode & 0xF0
                if code == Jmp.EXIT:
                    succ[i] = ()
                elif code == Jmp.CALL:
                    succ[i] = (i + 1,)
                    prune.add(i + 1)
                else:
                    t = jump_target(i, ins)
                    if not s <= t < e:
                        where = "outside the program" if not 0 <= t < n else "into another function"
                        raise CfgError(i, f"jump from insn {i} to insn {t} goes {where}")
                    if t in wide_second:
                        raise CfgError(i, f"jump from insn {i} lands in the middle of the "
                                          f"64-bit load at insn {t - 1}")
                    prune.add(t)
                    if code == Jmp.JA:
                        succ[i] = (t,)
                    else:
                        succ[i] = (i + 1, t)
                        prune.add(i + 1)
            else:
                succ[i] = (i + 1,)
            i += 1
    cfg = Cfg(subprogs, succ, [0] * n, prune, callbacks=callbacks)
    _reachability(cfg, insns, wide_second)
    cfg.live_in = _liveness(insns, succ, wide_second)
    return cfg


def _ends_block(ins: Insn) -> bool:
    return ins.cls in (Class.JMP, Class.JMP32) and ins.opcode & 0xF0 in (Jmp.JA, Jmp.EXIT)


def _reachability(cfg: Cfg, insns: Sequence[Insn], wide_second: set[int]) -> None:
    n = len(insns)
    seen = bytearray(n)
    on_stack = bytearray(n)
    # iterative DFS from every subprogram entry, recording back-edges (loops)
    roots = [0] + [t for t in cfg.subprogs if t]
    for root in roots:
        if seen[root]:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        seen[root] = on_stack[root] = 1
        while stack:
            pc, k = stack[-1]
            nxt = cfg.succ[pc]
            if k < len(nxt):
                stack[-1] = (pc, k + 1)
                t = nxt[k]
                if on_stack[t]:
                    cfg.back_edges.append((pc, t))
                elif not seen[t]:
                    seen[t] = on_stack[t] = 1
                    stack.append((t, 0))
            else:
                on_stack[pc] = 0
                stack.pop()
    # a subprogram that is never called or referenced is unreachable as a whole
    called = {0} | cfg.callbacks
    for i, ins in enumerate(insns):
        if i in wide_second or not seen[i]:
            continue
        if ins.cls == Class.JMP and ins.opcode & 0xF0 == Jmp.CALL and ins.src == CallSrc.LOCAL:
            called.add(i + 1 + ins.imm)
    for i in range(n):
        if i in wide_second:
            continue
        if not seen[i]:
            raise CfgError(i, f"insn {i} is unreachable: no path from the entry leads to it")
        if i in cfg.subprogs and i not in called:
            raise CfgError(i, f"insn {i} is unreachable: the function starting here is never "
                              "called")


def uses_defs(ins: Insn) -> tuple[int, int]:
    """Bit sets of registers an instruction reads and writes."""
    cls = ins.cls
    d, s = 1 << ins.dst, 1 << ins.src
    if cls in (Class.ALU, Class.ALU64):
        op = ins.opcode & 0xF0
        use = 0 if op == 0xB0 else d
        if ins.source and op not in (0x80, 0xD0):
            use |= s
        return use, d
    if cls == Class.LDX:
        return s, d
    if cls == Class.ST:
        return d, 0
    if cls == Class.STX:
        if ins.mode == Mode.ATOMIC:
            if ins.imm == 0xF1:  # cmpxchg reads and writes r0
                return d | s | 1, 1
            return d | s, (s if ins.imm & 1 else 0)
        return d | s, 0
    if cls == Class.LD:
        if ins.is_wide:
            return 0, d
        use = 1 << 6
        if ins.mode == Mode.IND:
            use |= s
        return use, CALLER_SAVED
    code = ins.opcode & 0xF0
    if code == Jmp.EXIT:
        return 1, 0
    if code == Jmp.CALL:
        return ARGS, CALLER_SAVED
    if code == Jmp.JA:
        return 0, 0
    return d | (s if ins.source else 0), 0


def _liveness(insns: Sequence[Insn], succ: list[tuple[int, ...]], wide: set[int]) -> list[int]:
    n = len(insns)
    ud = [uses_defs(insns[i]) if i not in wide else (0, 0) for i in range(n)]
    live = [0] * n
    changed = True
    while changed:
        changed = False
        for i in range(n - 1, -1, -1):
            if i in wide:
                continue
            out = 0
            for t in succ[i]:
                out |= live[t]
            use, d = ud[i]
            v = use | (out & ~d) | (1 << 10)
            if v != live[i]:
                live[i] = v
                changed = True
    return live
