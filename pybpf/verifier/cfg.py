"""Control flow checked before any state is tracked.

Finds subprograms (targets of BPF-to-BPF calls and of ``lddw`` function
pointers), checks every jump lands inside its own subprogram and not in the
second slot of an ``lddw``, that every subprogram ends in exit or a jump, that
every instruction is reachable, and computes which registers are live at each
instruction (so state pruning can ignore dead ones).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from ..asm.insn import Insn
from .helpers_proto import PROTOS
from .ops import CallSrc, Class, Jmp, Mode, PseudoSrc

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence

ALL_REGS = (1 << 11) - 1
ARGS = 0b111110  # r1-r5
CALLER_SAVED = 0b111111  # r0-r5
_LDDW = Class.LD | 0x18  # BPF_LD | BPF_IMM | BPF_DW
_CALL = Class.JMP | Jmp.CALL
_JMPS = (int(Class.JMP), int(Class.JMP32))


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
        if ins.opcode == _LDDW:
            wide_second.add(i + 1)
            if ins.src == PseudoSrc.FUNC:
                t = i + 1 + ins.imm
                if not 0 <= t < n:
                    raise CfgError(i, f"function pointer points to insn {t}, outside the program")
                starts.add(t)
                callbacks.add(t)
            i += 2
            continue
        if ins.opcode & 0xF7 == _CALL and ins.src == CallSrc.LOCAL \
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
            if ins.opcode == _LDDW:
                succ[i] = (i + 2,)
                i += 2
                continue
            if ins.opcode & 7 in _JMPS:
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
    next_k = bytearray(n)  # which successor of each insn the DFS follows next
    succ = cfg.succ
    # iterative DFS from every subprogram entry, recording back-edges (loops)
    roots = [0] + [t for t in cfg.subprogs if t]
    for root in roots:
        if seen[root]:
            continue
        stack = [root]
        seen[root] = on_stack[root] = 1
        while stack:
            pc = stack[-1]
            nxt = succ[pc]
            k = next_k[pc]
            if k < len(nxt):
                next_k[pc] = k + 1
                t = nxt[k]
                if on_stack[t]:
                    cfg.back_edges.append((pc, t))
                elif not seen[t]:
                    seen[t] = on_stack[t] = 1
                    stack.append(t)
            else:
                on_stack[pc] = 0
                stack.pop()
    # a subprogram that is never called or referenced is unreachable as a whole
    called = {0} | cfg.callbacks
    call_op = Class.JMP | Jmp.CALL
    for i, ins in enumerate(insns):
        if ins.opcode & 0xF7 == call_op and ins.src == CallSrc.LOCAL and seen[i] \
                and i not in wide_second:
            called.add(i + 1 + ins.imm)
    for i in wide_second:
        if i < n:
            seen[i] = 1
    uncalled = [i for i in cfg.subprogs if i not in called]
    unseen = seen.find(0)
    if unseen >= 0 and not (uncalled and uncalled[0] < unseen):
        raise CfgError(unseen, f"insn {unseen} is unreachable: no path from the entry leads "
                               "to it")
    if uncalled:
        i = uncalled[0]
        raise CfgError(i, f"insn {i} is unreachable: the function starting here is never "
                          "called")


def uses_defs(ins: Insn) -> tuple[int, int]:
    """Bit sets of registers an instruction reads and writes."""
    opc = ins.opcode
    cls = opc & 7
    d, s = 1 << ins.dst, 1 << ins.src
    if cls == Class.ALU64 or cls == Class.ALU:
        op = opc & 0xF0
        use = 0 if op == 0xB0 else d
        if opc & 8 and op != 0x80 and op != 0xD0:
            use |= s
        return use, d
    if cls == Class.LDX:
        return s, d
    if cls == Class.ST:
        return d, 0
    if cls == Class.STX:
        if opc & 0xE0 == Mode.ATOMIC:
            if ins.imm == 0xF1:  # cmpxchg reads and writes r0
                return d | s | 1, 1
            return d | s, (s if ins.imm & 1 else 0)
        return d | s, 0
    if cls == Class.LD:
        if opc == _LDDW:
            return 0, d
        use = 1 << 6
        if opc & 0xE0 == Mode.IND:
            use |= s
        return use, CALLER_SAVED
    code = opc & 0xF0
    if code == Jmp.EXIT:
        return 1, 0
    if code == Jmp.CALL:
        if ins.src == 0 and not opc & 8:  # a helper reads only its declared arguments
            proto = PROTOS.get(ins.imm)
            if proto is not None:
                return ((1 << (len(proto.args) + 1)) - 2) & ARGS, CALLER_SAVED
        return ARGS, CALLER_SAVED
    if code == Jmp.JA:
        return 0, 0
    return d | (s if opc & 8 else 0), 0


def _liveness(insns: Sequence[Insn], succ: list[tuple[int, ...]], wide: set[int]) -> list[int]:
    """Registers live on entry to each instruction (a backward worklist fixpoint)."""
    n = len(insns)
    ud = [uses_defs(ins) for ins in insns]
    for i in wide:
        if i < n:
            ud[i] = (0, 0)
    preds: list[list[int]] = [[] for _ in range(n)]
    for i, ss in enumerate(succ):
        for t in ss:
            preds[t].append(i)
    live = [0] * n
    queued = bytearray(b"\x01") * n
    work = list(range(n))  # popped from the end: the last instruction first
    fp = 1 << 10
    while work:
        i = work.pop()
        queued[i] = 0
        out = 0
        for t in succ[i]:
            out |= live[t]
        use, d = ud[i]
        v = use | (out & ~d) | fp
        if v != live[i]:
            live[i] = v
            for p in preds[i]:
                if not queued[p]:
                    queued[p] = 1
                    work.append(p)
    for i in wide:
        if i < n:
            live[i] = 0
    return live
