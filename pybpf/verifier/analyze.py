"""Abstract interpretation over every path, with state pruning and a complexity budget.

The kernel's algorithm (kernel/bpf/verifier.c, do_check): walk paths depth
first, forking at conditional jumps whose outcome is unknown; at prune points
(jump targets, fall-throughs, call returns) compare the state with states
already proven safe there and stop when one covers it. A state equal to one
still being explored at the same instruction is an infinite loop. Bounded loops
are therefore unrolled until their counter decides the exit branch; the budget
(1M instructions, like the kernel) stops everything else.
"""

from __future__ import annotations

from ..asm.insn import Insn
from . import branch, scalar
from . import tnum as tn
from .base import (
    ALU_NAMES,
    MAX_PACKET_OFF,
    MAX_VAR_OFF,
    MAX_VISITS_PER_INSN,
    kind_name,
)
from .calls import CallChecks
from .cfg import ALL_REGS, jump_target
from .ops import Alu, Class, Jmp
from .state import (
    NOT_INIT,
    NULLABLE,
    S64_MIN,
    Frame,
    Reg,
    State,
    T,
    Visit,
    const,
    covers,
    pointer,
    ranged,
    unknown,
)
from .tnum import M32

LOG_LINES = 20_000
_CONSTS: dict[int, Reg] = {}  # immediate -> constant scalar with no source insn
# opcode fields as plain ints: enum member lookups are slow on the per-insn path
_ALU64 = int(Class.ALU64)
_ADD, _SUB, _AND, _OR, _XOR = int(Alu.ADD), int(Alu.SUB), int(Alu.AND), int(Alu.OR), int(Alu.XOR)
_MOV, _NEG, _END, _DIV, _MOD = int(Alu.MOV), int(Alu.NEG), int(Alu.END), int(Alu.DIV), int(Alu.MOD)
_LSH, _RSH, _ARSH = int(Alu.LSH), int(Alu.RSH), int(Alu.ARSH)
_BITWISE_ADD_SUB = frozenset((_ADD, _SUB, _AND, _OR, _XOR))


class Analyzer(CallChecks):
    """Walks every path of the program; ``run`` raises ``Reject`` at the first unsafe step."""

    # -- driver -----------------------------------------------------------
    def run(self) -> None:
        self.kinds = [_KINDS[i.opcode] for i in self.insns]
        self.prune_at = bytearray(len(self.insns))
        for p in self.cfg.prune:
            if p < len(self.insns):
                self.prune_at[p] = 1
        regs = [NOT_INIT] * 11
        regs[1] = pointer(T.CTX)
        regs[10] = pointer(T.STACK, frame=0)
        st = State([Frame(regs, -1, 0)])
        pending: list[tuple[int, State]] = [(0, st)]
        while pending:
            pc, st = pending.pop()
            if self.log is not None:
                self._log(f"-- path resumes at insn {pc}")
            self._path(pc, st, pending)

    def _log(self, line: str) -> None:
        assert self.log is not None
        if len(self.log) < LOG_LINES:
            self.log.append(line)
        elif len(self.log) == LOG_LINES:
            self.log.append(f"... (log cut at {LOG_LINES} lines)")

    def _log_insn(self, pc: int, st: State) -> None:
        from .cfg import uses_defs
        from .report import insn_text
        from .state import fmt_reg

        use, _ = uses_defs(self.insns[pc])
        regs = st.cur.regs
        shown = " ".join(f"r{i}={fmt_reg(regs[i])}" for i in range(11)
                         if use >> i & 1 and regs[i].t != T.NOT_INIT)
        self._log(f"{pc}: {insn_text(self.insns, pc):<32} ; {shown}".rstrip(" ;"))

    def _path(self, pc: int, st: State, pending: list[tuple[int, State]]) -> None:
        insns, kinds, prune = self.insns, self.kinds, self.prune_at
        logging = self.log is not None
        alu, ldx, store, cond = self._alu, self._ldx, self._store, self._cond
        limit = self.max_insns
        self.st = st  # the same state object all along this path
        while True:
            self.pc = pc
            if prune[pc] and self._visit(pc, st):
                if logging:
                    self._log(f"{pc}: safe: a state already proven safe here covers this one")
                self._done(st)
                return
            n = self.processed = self.processed + 1
            if logging:
                self._log_insn(pc, st)
            if n > limit:
                self.fail(f"the program is too complex: {self.max_insns} instructions were "
                          "processed without finishing; bound the loops more tightly")
            ins = insns[pc]
            k = kinds[pc]
            if k == K_ALU:
                alu(ins, st)
                pc += 1
            elif k == K_COND:
                nxt = cond(pc, ins, st, pending)
                if nxt is None:
                    return
                pc = nxt
            elif k == K_LDX:
                ldx(ins, st)
                pc += 1
            elif k == K_STORE:
                store(ins, st)
                pc += 1
            elif k == K_JA:
                pc = jump_target(pc, ins)
            elif k == K_LDDW:
                self._lddw(pc, ins, st)
                pc += 2
            elif k == K_LDPKT:
                self._ld_pkt(ins, st)
                pc += 1
            elif k == K_EXIT:
                nxt = self._exit(st, pending)
                if nxt is None:
                    self._done(st)
                    return
                pc = nxt
            else:
                pc = self._call(pc, ins, st, pending)

    def _visit(self, pc: int, st: State) -> bool:
        """Prune-point bookkeeping: True when a stored state covers ``st``."""
        lst = self.explored.get(pc)
        if lst is None:
            lst = self.explored[pc] = []
        busy: list[Visit] = []  # states on the current path: this is a loop
        if lst:
            busy = [v for v in lst if v.branches > 0]
            if busy and self._same_as(busy, st):
                if pc in self.cfg.callbacks:
                    return True  # callback iterations converged
                self.fail(f"infinite loop: the program comes back to insn {pc} in exactly the "
                          "same state, so this loop can never exit")
            if len(busy) < len(lst):
                live = self._live(st)
                for v in lst:
                    if v.branches == 0 and covers(v.state, st, live):
                        return True
        if busy and pc in self.cfg.callbacks:
            for v in busy:
                if _widen(v.state, st):
                    if self._same_as(busy, st):
                        return True
                    break
        if busy and self.processed - self.last_add < 100:
            return False  # inside a loop: keep fewer states (the kernel's heuristic)
        if len(lst) < MAX_VISITS_PER_INSN:
            v = Visit(st.copy(), st.parent)
            lst.append(v)
            st.parent = v
            self.states += 1
            self.last_add = self.processed
        return False

    def _same_as(self, busy: list[Visit], st: State) -> bool:
        regs = st.frames[-1].regs
        for v in busy:  # cheap filter: a loop that makes progress changes some register
            if _regs_close(v.state.frames[-1].regs, regs):
                break
        else:
            return False
        sig = _signature(st)
        for v in busy:
            if v.sig is None:
                v.sig = _signature(v.state)
            if v.sig == sig:
                return True
        return False

    def _live(self, st: State) -> list[int]:
        if len(st.frames) == 1:
            return [self.cfg.live_in[self.pc]]
        live = []
        for i in range(len(st.frames)):
            if i == len(st.frames) - 1:
                live.append(self.cfg.live_in[self.pc])
            else:
                ret = st.frames[i + 1].callsite + 1
                live.append((self.cfg.live_in[ret] & ~0b111111) | (1 << 10)
                            if ret < len(self.insns) else ALL_REGS)
        return live

    # -- ALU ----------------------------------------------------------------
    def _alu(self, ins: Insn, st: State) -> None:
        regs = st.frames[-1].regs
        opc = ins.opcode
        op, is64, d = opc & 0xF0, opc & 7 == _ALU64, ins.dst
        if d == 10:
            self.write_check(d)
        src = self.pc
        if op == _END or op == _NEG:
            b = NOT_INIT
        elif opc & 8:
            b = regs[ins.src]
            if b.t == T.NOT_INIT:
                self.read(regs, ins.src)
        else:
            key = ins.imm if is64 else ins.imm & M32
            b = _CONSTS.get(key) or self._imm_const(ins, is64)
        if op == _MOV and is64 and not ins.off and (b.tn[1] == 0 or b.t != T.SCALAR
                                                     or b.id or not opc & 8):
            regs[d] = b  # the commonest case: a plain 64-bit copy that needs no link id
            return
        if op in _BITWISE_ADD_SUB:  # the next commonest
            a = regs[d]
            if a.t == T.SCALAR and b.t == T.SCALAR:
                if a.tn[1] == 0 and b.tn[1] == 0:
                    regs[d] = const(scalar.eval_alu(op, is64, a.tn[0], b.tn[0]), src)
                else:
                    regs[d] = scalar.alu(op, is64, a, b, ins.off, src)
                return
        if op == _END or op == _NEG:
            v = self.read(regs, d)
            if v.t != T.SCALAR:
                self._ptr_leak(d, v, "byte swap" if op == _END else "negation")
                regs[d] = unknown(src)
                return
            if op == _NEG:
                regs[d] = scalar.alu(_SUB, is64, const(0), v, 0, src) if v.is_const else (
                    unknown(src) if is64 else ranged(0, M32, src))
            else:
                w = ins.imm
                if v.is_const:
                    regs[d] = const(scalar.bswap(v.const, w, bool(ins.source)) if is64 or
                                    ins.source else v.const & ((1 << w) - 1), src)
                else:
                    regs[d] = ranged(0, (1 << w) - 1, src) if w < 64 else unknown(src)
            return
        if op == _MOV:
            if ins.off:
                if b.t != T.SCALAR:
                    if not self.privileged:
                        self.fail(f"r{ins.src} holds a pointer; sign-extending part of a "
                                  "pointer would leak it")
                    regs[d] = unknown(src) if is64 else ranged(0, M32, src)
                    return
                if b.is_const:
                    regs[d] = const(scalar.eval_alu(_MOV, is64, 0, b.const, ins.off), src)
                else:
                    h = 1 << (ins.off - 1)
                    regs[d] = (unknown(src) if is64 else ranged(0, M32, src)) if b.smin < -h \
                        or b.smax >= h else b.copy(src=src)
                    if not is64 and regs[d].smin < 0:
                        regs[d] = ranged(0, M32, src)
                return
            if is64:
                if b.t == T.SCALAR and not b.is_const and ins.source:
                    if not b.id:  # link the copies: a later comparison bounds both
                        b = b.copy(id=st.new_id())
                        regs[ins.src] = b
                regs[d] = b
            elif b.t != T.SCALAR:
                self._ptr_leak(ins.src, b, "32-bit copy")
                regs[d] = ranged(0, M32, src)
            else:
                regs[d] = scalar.cast32(b).copy(src=src)
            return
        a = self.read(regs, d)
        if not ins.source:
            if op in (_DIV, _MOD) and ins.imm == 0:
                self.fail("division by the constant zero")
            if op in (_LSH, _RSH, _ARSH) and not 0 <= ins.imm < (64 if is64 else 32):
                self.fail(f"shift by {ins.imm} is out of range for a {64 if is64 else 32}-bit "
                          "value")
        if a.t == T.SCALAR and b.t == T.SCALAR:
            regs[d] = scalar.alu(op, is64, a, b, ins.off, src)
            return
        regs[d] = self._ptr_alu(ins, op, is64, a, b)

    def _imm_const(self, ins: Insn, is64: bool) -> Reg:
        """The immediate operand as a shared constant (Regs in states are never mutated)."""
        key = ins.imm if is64 else ins.imm & M32
        r = _CONSTS.get(key)
        if r is None:
            r = _CONSTS[key] = const(key)
        return r

    def _ptr_alu(self, ins: Insn, op: int, is64: bool, a: Reg, b: Reg) -> Reg:
        d = ins.dst
        opname = ALU_NAMES.get(op, hex(op))
        if a.t != T.SCALAR and b.t != T.SCALAR:
            if op == Alu.SUB and self.privileged:
                return unknown(self.pc) if is64 else ranged(0, M32, self.pc)
            self.fail(f"r{d} {opname}= r{ins.src}: arithmetic between two pointers "
                      f"({kind_name(a)}, {kind_name(b)}) is not allowed")
        if not is64:
            if op == Alu.SUB and self.privileged:
                return ranged(0, M32, self.pc)  # a meaningless number, as the kernel makes it
            self.fail(f"r{d}: 32-bit arithmetic on a pointer is not allowed; use 64-bit ops")
        ptr, off = (a, b) if a.t != T.SCALAR else (b, a)
        if op not in (Alu.ADD, Alu.SUB):
            self.fail(f"r{d}: the {opname} operator on a pointer ({kind_name(ptr)}) is not "
                      "allowed; only + and - with a number are")
        if op == Alu.SUB and ptr is b:
            self.fail(f"r{d}: subtracting a pointer from a number is not allowed")
        t = ptr.t
        if t in NULLABLE:
            self.fail(f"r{d} may be null: compare the result of {self._origin(ptr)} with 0 "
                      "before doing arithmetic on it")
        if t == T.MAP_PTR and not (off.is_const and off.const == 0 and op == Alu.ADD):
            self.fail(f"r{d}: arithmetic on a map pointer is not allowed; look up an element "
                      "instead")
        if t in (T.PACKET_END, T.FUNC, T.MAP_PTR) and not (off.is_const and off.const == 0):
            self.fail(f"r{d}: arithmetic on {kind_name(ptr)} is not allowed")
        name = kind_name(ptr)
        if off.is_const:
            c = tn.to_signed(off.const)
            if not -MAX_VAR_OFF < c < MAX_VAR_OFF:
                self.fail(f"r{d}: adding {c} to a {name} pointer is not allowed (too far)")
            new = ptr.off + (c if op == Alu.ADD else -c)
            if not -MAX_VAR_OFF < new < MAX_VAR_OFF:
                self.fail(f"r{d}: offset {new} makes the {name} pointer go out of bounds")
            return ptr.copy(off=new, src=self.pc if t in (T.STACK,) else ptr.src)
        if off.smin == S64_MIN:
            self.fail(f"r{d}: the number added to the {name} pointer has no lower bound; "
                      "check it (e.g. 'if rX s< 0 goto ...' or use an unsigned value) first")
        if off.smin <= -MAX_VAR_OFF:
            self.fail(f"r{d}: the number added to the {name} pointer may be as low as "
                      f"{off.smin}; bound it first (e.g. 'if rX s< 0 goto ...')")
        if off.smin >= MAX_VAR_OFF:
            self.fail(f"r{d}: the number added to the {name} pointer is at least "
                      f"{off.smin}, which puts it out of bounds")
        var = scalar.alu(op, True, ptr, off)
        if var.smin == S64_MIN or not -MAX_VAR_OFF < var.smin < MAX_VAR_OFF:
            self.fail(f"r{d}: after this the {name} pointer's offset may be as low as "
                      f"{var.smin}, far out of bounds; bound the number first")
        r = ptr.copy(tn=var.tn, smin=var.smin, smax=var.smax, umin=var.umin, umax=var.umax)
        if t in (T.PACKET, T.PACKET_META):
            assert self.st is not None
            r.id = self.st.new_id() + 1_000_000
            r.rng = 0
        return r

    # -- jumps --------------------------------------------------------------
    def _cond(self, pc: int, ins: Insn, st: State, pending: list[tuple[int, State]]) -> int | None:
        """Follow a conditional jump; returns the next pc, or None when no side is feasible."""
        regs = st.frames[-1].regs
        opc = ins.opcode
        op = opc & 0xF0
        is32 = opc & 7 == Class.JMP32
        a = regs[ins.dst]
        if a.t == T.NOT_INIT:
            self.read(regs, ins.dst)
        if opc & 8:
            b = regs[ins.src]
            if b.t == T.NOT_INIT:
                self.read(regs, ins.src)
        else:
            b = self._imm_const(ins, not is32)
        tgt = pc + 1 + ins.off  # (only the unconditional jump uses imm as its offset)
        if a.t == T.SCALAR and b.t == T.SCALAR:
            dec = branch.taken(op, a, b, is32)
            if dec is not None:
                return tgt if dec else pc + 1
            yes = branch.refine(op, a, b, is32)
            if op == Jmp.JSET:
                no: tuple[Reg, Reg] | None = (branch.refine_not_set(a, b, is32), b)
            else:
                no = branch.refine(branch.NEGATE[op], a, b, is32)
            return self._split(st, pc, tgt, ins, yes, no, pending)
        if not self.privileged and op not in (Jmp.JEQ, Jmp.JNE):
            self.fail(f"comparing pointers (r{ins.dst} {kind_name(a)}) is not allowed for "
                      "unprivileged programs")
        # null checks: pointer-or-null against 0
        ptr, other = (a, b) if a.t != T.SCALAR else (b, a)
        if op in (Jmp.JEQ, Jmp.JNE) and other.t == T.SCALAR and other.is_const \
                and other.const == 0 and not is32:
            if ptr.t in NULLABLE:
                null_st = st.copy()
                self._mark_null(null_st, ptr, null=True)
                self._mark_null(st, ptr, null=False)
                eq_st, ne_st = null_st, st
                if op == Jmp.JEQ:
                    self._fork(self._path_add(eq_st, pc, True), tgt, pending)
                    self._path_add(ne_st, pc, False)
                    return pc + 1
                self._fork(self._path_add(eq_st, pc, False), pc + 1, pending)
                self._path_add(ne_st, pc, True)
                return tgt
            # a pointer that cannot be null is never equal to 0
            return pc + 1 if op == Jmp.JEQ else tgt
        if a.t in (T.PACKET, T.PACKET_META, T.PACKET_END) and \
                b.t in (T.PACKET, T.PACKET_META, T.PACKET_END) and not is32:
            return self._pkt_cmp(pc, op, ins, st, a, b, tgt, pending)
        other_st = st.copy()
        self._fork(self._path_add(other_st, pc, True), tgt, pending)
        self._path_add(st, pc, False)
        return pc + 1

    def _split(self, st: State, pc: int, tgt: int, ins: Insn, yes: tuple[Reg, Reg] | None,
               no: tuple[Reg, Reg] | None, pending: list[tuple[int, State]]) -> int | None:
        if yes is None and no is None:
            self._done(st)
            return None
        if yes is not None:
            ys = st.copy() if no is not None else st
            self._set_pair(ys, ins, yes)
            self._path_add(ys, pc, True)
            if no is None:
                return tgt
            self._fork(ys, tgt, pending)
        assert no is not None
        self._set_pair(st, ins, no)
        self._path_add(st, pc, False)
        return pc + 1

    def _set_pair(self, st: State, ins: Insn, pair: tuple[Reg, Reg]) -> None:
        regs = st.cur.regs
        if regs[ins.dst].t == T.SCALAR:
            regs[ins.dst] = pair[0]
            if pair[0].id:
                self._sync_linked(st, pair[0])
        if ins.source and regs[ins.src].t == T.SCALAR:
            regs[ins.src] = pair[1]
            if pair[1].id:
                self._sync_linked(st, pair[1])

    def _sync_linked(self, st: State, r: Reg) -> None:
        """Copies of a scalar (same id) learn what a comparison taught about one of them."""
        for f in st.frames:
            regs = f.regs
            for i in range(11):
                o = regs[i]
                if o.id == r.id and o.t == T.SCALAR:
                    regs[i] = r
            for k, o in f.spills.items():
                if o.id == r.id and o.t == T.SCALAR:
                    f.spills[k] = r

    def _mark_null(self, st: State, ptr: Reg, *, null: bool) -> None:
        pid = ptr.id
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.t in NULLABLE and r.id == pid:
                    f.regs[i] = const(0, r.src) if null else r.copy(t=NULLABLE[r.t])
            for s, r in list(f.spills.items()):
                if r.t in NULLABLE and r.id == pid:
                    f.spills[s] = const(0, r.src) if null else r.copy(t=NULLABLE[r.t])
        if null and ptr.ref:
            st.refs.pop(ptr.ref, None)

    def _pkt_cmp(self, pc: int, op: int, ins: Insn, st: State, a: Reg, b: Reg, tgt: int,
                 pending: list[tuple[int, State]]) -> int:
        """pkt vs pkt_end (or pkt_meta vs pkt): the side proving bytes in bounds learns them."""
        other = st.copy()
        taken_st, fall_st = other, st
        good: tuple[State, Reg, bool] | None = None
        end_right = (a.t == T.PACKET and b.t == T.PACKET_END) or (
            a.t == T.PACKET_META and b.t == T.PACKET)
        end_left = (b.t == T.PACKET and a.t == T.PACKET_END) or (
            b.t == T.PACKET_META and a.t == T.PACKET)
        if end_right:
            if op == Jmp.JGT:
                good = (fall_st, a, False)
            elif op == Jmp.JLT:
                good = (taken_st, a, True)
            elif op == Jmp.JGE:
                good = (fall_st, a, True)
            elif op == Jmp.JLE:
                good = (taken_st, a, False)
        elif end_left:
            if op == Jmp.JGT:
                good = (taken_st, b, True)
            elif op == Jmp.JLT:
                good = (fall_st, b, False)
            elif op == Jmp.JGE:
                good = (taken_st, b, False)
            elif op == Jmp.JLE:
                good = (fall_st, b, True)
        if good is not None:
            gst, reg, open_right = good
            self._good_pkt(gst, reg, open_right)
        self._fork(self._path_add(taken_st, pc, True), tgt, pending)
        self._path_add(fall_st, pc, False)
        return pc + 1

    def _good_pkt(self, st: State, reg: Reg, open_right: bool) -> None:
        if reg.off < 0 or (reg.off == 0 and open_right):
            return
        if reg.umax > MAX_PACKET_OFF or reg.umax + reg.off > MAX_PACKET_OFF:
            return
        rng = reg.off + (1 if open_right else 0)
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.t == reg.t and r.id == reg.id and r.rng < rng:
                    f.regs[i] = r.copy(rng=rng)
            for s, r in list(f.spills.items()):
                if r.t == reg.t and r.id == reg.id and r.rng < rng:
                    f.spills[s] = r.copy(rng=rng)


def _reg_sig(r: Reg) -> tuple[object, ...]:
    return (r.t, r.off, r.tn, r.smin, r.smax, r.umin, r.umax, r.map, r.rng, r.frame, r.id,
            r.ref)


K_ALU, K_LDX, K_STORE, K_COND, K_JA, K_LDDW, K_LDPKT, K_EXIT, K_CALL = range(9)


def _kind(opcode: int) -> int:
    """What the walk does with an instruction, decided once instead of per visit."""
    cls = opcode & 7
    if cls == Class.ALU64 or cls == Class.ALU:
        return K_ALU
    if cls == Class.LDX:
        return K_LDX
    if cls in (Class.ST, Class.STX):
        return K_STORE
    if cls == Class.LD:
        return K_LDDW if Insn(opcode).is_wide else K_LDPKT
    code = opcode & 0xF0
    if code == Jmp.JA:
        return K_JA
    if code == Jmp.EXIT:
        return K_EXIT
    if code == Jmp.CALL:
        return K_CALL
    return K_COND


_KINDS = [_kind(op) for op in range(256)]


def _regs_close(a: list[Reg], b: list[Reg]) -> bool:
    """False when two register files surely differ (a necessary test for equal states)."""
    for x, y in zip(a, b, strict=True):
        if x is not y and (x.t != y.t or x.tn != y.tn or x.off != y.off or x.smin != y.smin
                           or x.umax != y.umax):
            return False
    return True


def _signature(st: State) -> tuple[object, ...]:
    """A hashable exact image of a state (for spotting a loop that makes no progress)."""
    out: list[object] = [tuple(st.refs), st.lock.map if st.lock else None]
    for f in st.frames:
        out.append((f.callsite, f.cb, tuple(_reg_sig(r) for r in f.regs), bytes(f.stack),
                    tuple((k, _reg_sig(v)) for k, v in sorted(f.spills.items()))))
    return tuple(out)


def _widen(old: State, cur: State) -> bool:
    """Forget the scalar values that differ between two visits of a callback entry.

    Returns True when ``cur`` was changed (it then covers both states).
    """
    if len(old.frames) != len(cur.frames):
        return False
    changed = False
    for fo, fc in zip(old.frames, cur.frames, strict=True):
        if fo.callsite != fc.callsite:
            return False
        for i in range(11):
            a, b = fo.regs[i], fc.regs[i]
            if a.t == b.t == T.SCALAR and not a.same_var(b) and b.tn != tn.UNKNOWN:
                fc.regs[i] = unknown(b.src)
                changed = True
        for k, b in list(fc.spills.items()):
            a2 = fo.spills.get(k)
            if a2 is not None and a2.t == b.t == T.SCALAR and not a2.same_var(b) \
                    and b.tn != tn.UNKNOWN:
                fc.spills[k] = unknown(b.src)
                changed = True
    return changed
