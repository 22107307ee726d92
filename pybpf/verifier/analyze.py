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

from collections.abc import Sequence
from typing import NoReturn

from ..asm.insn import Insn, imm64_of
from ..asm.opcodes import SIZE_BYTES, Alu, AtomicOp, CallSrc, Class, Jmp, Mode, PseudoSrc
from ..spec import MapSpec
from ..uapi import HELPER_NAMES, MapType, ProgType
from . import branch, ctx, scalar
from . import tnum as tn
from .cfg import ALL_REGS, Cfg, jump_target
from .helpers_proto import PROTOS, Arg, Proto, Ret, map_allowed
from .state import (
    INVALID,
    MAX_FRAMES,
    MISC,
    NOT_INIT,
    NULLABLE,
    S64_MIN,
    SPILL,
    STACK,
    TYPE_NAMES,
    ZERO,
    Frame,
    Reg,
    State,
    T,
    Visit,
    const,
    covers,
    fmt_reg,
    pointer,
    ranged,
    unknown,
)
from .tnum import M32, M64

MAX_VAR_OFF = 1 << 29
MAX_PACKET_OFF = 0xFFFF
MAX_PENDING = 8192
MAX_VISITS_PER_INSN = 64
RDONLY_PROG = 1 << 7
ALU_NAMES = {Alu.ADD: "+", Alu.SUB: "-", Alu.MUL: "*", Alu.DIV: "/", Alu.OR: "|",
             Alu.AND: "&", Alu.LSH: "<<", Alu.RSH: ">>", Alu.NEG: "neg", Alu.MOD: "%",
             Alu.XOR: "^", Alu.ARSH: "s>>", Alu.END: "byte swap"}


class Reject(Exception):
    """The program is unsafe at ``pc``; ``state`` is the abstract state there."""

    def __init__(self, pc: int, reason: str, state: State | None) -> None:
        super().__init__(reason)
        self.pc, self.reason, self.state = pc, reason, state


def _kind(r: Reg) -> str:
    return TYPE_NAMES.get(r.t, "?")


class Analyzer:
    def __init__(self, insns: Sequence[Insn], cfg: Cfg, prog_type: int, maps: list[MapSpec],
                 lddw_map: dict[int, tuple[int, int]], *, gpl: bool = True,
                 privileged: bool = True, strict_stack: bool = True,
                 max_insns: int = 1_000_000) -> None:
        self.insns = insns
        self.strict_stack = strict_stack
        self.cfg = cfg
        self.prog_type = prog_type
        self.maps = maps
        self.lddw_map = lddw_map
        self.gpl = gpl
        self.privileged = privileged
        self.max_insns = max_insns
        self.ctx_check = ctx.checker(prog_type)
        self.explored: dict[int, list[Visit]] = {}
        self.sigs: dict[tuple[int, object], Visit] = {}
        self.last_add = 0
        self.processed = 0
        self.states = 0
        self.peak_states = 0
        self.depth: dict[int, int] = {}  # subprog -> deepest stack byte used
        self.calls: dict[int, set[int]] = {}  # subprog -> subprogs it calls
        self.pc = 0
        self.st: State | None = None

    # -- driver -----------------------------------------------------------
    def run(self) -> None:
        regs = [NOT_INIT] * 11
        regs[1] = pointer(T.CTX)
        regs[10] = pointer(T.STACK, frame=0)
        st = State([Frame(regs, -1, 0)])
        pending: list[tuple[int, State]] = [(0, st)]
        while pending:
            pc, st = pending.pop()
            self._path(pc, st, pending)

    def _path(self, pc: int, st: State, pending: list[tuple[int, State]]) -> None:
        insns, prune = self.insns, self.cfg.prune
        while True:
            self.pc, self.st = pc, st
            if pc in prune and self._visit(pc, st):
                self._done(st)
                return
            self.processed += 1
            if self.processed > self.max_insns:
                self.fail(f"the program is too complex: {self.max_insns} instructions were "
                          "processed without finishing; bound the loops more tightly")
            ins = insns[pc]
            cls = ins.cls
            if cls in (Class.ALU, Class.ALU64):
                self._alu(ins, st.cur.regs)
                pc += 1
            elif cls == Class.LDX:
                self._ldx(ins, st)
                pc += 1
            elif cls in (Class.ST, Class.STX):
                self._store(ins, st)
                pc += 1
            elif cls == Class.LD:
                if ins.is_wide:
                    self._lddw(pc, ins, st)
                    pc += 2
                else:
                    self._ld_pkt(ins, st)
                    pc += 1
            else:
                code = ins.opcode & 0xF0
                if code == Jmp.JA:
                    pc = jump_target(pc, ins)
                elif code == Jmp.EXIT:
                    nxt = self._exit(st, pending)
                    if nxt is None:
                        self._done(st)
                        return
                    pc = nxt
                elif code == Jmp.CALL:
                    pc = self._call(pc, ins, st, pending)
                else:
                    nxt = self._cond(pc, ins, st, pending)
                    if nxt is None:
                        return
                    pc = nxt

    def _visit(self, pc: int, st: State) -> bool:
        """Prune-point bookkeeping: True when a stored state covers ``st``."""
        lst = self.explored.get(pc)
        if lst is None:
            lst = self.explored[pc] = []
        sig = _signature(st)
        same = self.sigs.get((pc, sig))
        if same is not None and same.branches > 0:
            if pc in self.cfg.callbacks:
                return True  # callback iterations converged
            self.fail(f"infinite loop: the program comes back to insn {pc} in exactly the "
                      "same state, so this loop can never exit")
        live = self._live(st)
        looping = False
        for v in lst:
            if v.branches > 0:
                looping = True
                continue
            if covers(v.state, st, live):
                return True
        if looping and pc in self.cfg.callbacks:
            for v in lst:
                if v.branches > 0 and _widen(v.state, st):
                    sig = _signature(st)
                    same = self.sigs.get((pc, sig))
                    if same is not None and same.branches > 0:
                        return True
                    break
        if looping and self.processed - self.last_add < 100:
            return False  # inside a loop: keep fewer states (the kernel's heuristic)
        if len(lst) < MAX_VISITS_PER_INSN:
            v = Visit(st.copy(), st.parent)
            lst.append(v)
            self.sigs[(pc, sig)] = v
            st.parent = v
            self.states += 1
            self.last_add = self.processed
        return False

    def _live(self, st: State) -> list[int]:
        live = []
        for i, f in enumerate(st.frames):
            if i == len(st.frames) - 1:
                live.append(self.cfg.live_in[self.pc])
            else:
                ret = st.frames[i + 1].callsite + 1
                live.append((self.cfg.live_in[ret] & ~0b111111) | (1 << 10)
                            if ret < len(self.insns) else ALL_REGS)
        return live

    def _done(self, st: State) -> None:
        v = st.parent
        while v is not None:
            v.branches -= 1
            if v.branches:
                break
            v = v.parent

    def _fork(self, st: State, pc: int, pending: list[tuple[int, State]]) -> None:
        if st.parent is not None:
            st.parent.branches += 1
        pending.append((pc, st))
        self.peak_states = max(self.peak_states, len(pending))
        if len(pending) > MAX_PENDING:
            self.fail(f"more than {MAX_PENDING} paths are pending: the branching is too complex")

    def fail(self, reason: str) -> NoReturn:
        raise Reject(self.pc, reason, self.st)

    # -- registers --------------------------------------------------------
    def read(self, regs: list[Reg], r: int) -> Reg:
        v = regs[r]
        if v.t == T.NOT_INIT:
            self.fail(f"r{r} is read before any value was written to it")
        return v

    def write_check(self, r: int) -> None:
        if r == 10:
            self.fail("r10 is the read-only frame pointer; copy it to another register first")

    # -- ALU ----------------------------------------------------------------
    def _alu(self, ins: Insn, regs: list[Reg]) -> None:
        op, is64, d = ins.opcode & 0xF0, ins.cls == Class.ALU64, ins.dst
        self.write_check(d)
        src = self.pc
        if op == Alu.END or op == Alu.NEG:
            v = self.read(regs, d)
            if v.t != T.SCALAR:
                self._ptr_leak(d, v, "byte swap" if op == Alu.END else "negation")
                regs[d] = unknown(src)
                return
            if op == Alu.NEG:
                regs[d] = scalar.alu(Alu.SUB, is64, const(0), v, 0, src) if v.is_const else (
                    unknown(src) if is64 else ranged(0, M32, src))
            else:
                w = ins.imm
                if v.is_const:
                    regs[d] = const(scalar.bswap(v.const, w, bool(ins.source)) if is64 or
                                    ins.source else v.const & ((1 << w) - 1), src)
                else:
                    regs[d] = ranged(0, (1 << w) - 1, src) if w < 64 else unknown(src)
            return
        if ins.source:
            b = self.read(regs, ins.src)
        else:
            b = const(ins.imm if is64 else ins.imm & M32)
        if op == Alu.MOV:
            if ins.off:
                if b.t != T.SCALAR:
                    self.fail(f"r{ins.src} holds a pointer; sign-extending part of a pointer is "
                              "not allowed")
                if b.is_const:
                    regs[d] = const(scalar.eval_alu(Alu.MOV, is64, 0, b.const, ins.off), src)
                else:
                    h = 1 << (ins.off - 1)
                    regs[d] = (unknown(src) if is64 else ranged(0, M32, src)) if b.smin < -h \
                        or b.smax >= h else b.copy(src=src)
                    if not is64 and regs[d].smin < 0:
                        regs[d] = ranged(0, M32, src)
                return
            if is64:
                regs[d] = b
            elif b.t != T.SCALAR:
                self._ptr_leak(ins.src, b, "32-bit copy")
                regs[d] = ranged(0, M32, src)
            else:
                regs[d] = scalar.cast32(b).copy(src=src)
            return
        a = self.read(regs, d)
        if not ins.source:
            if op in (Alu.DIV, Alu.MOD) and ins.imm == 0:
                self.fail("division by the constant zero")
            if op in (Alu.LSH, Alu.RSH, Alu.ARSH) and not 0 <= ins.imm < (64 if is64 else 32):
                self.fail(f"shift by {ins.imm} is out of range for a {64 if is64 else 32}-bit "
                          "value")
        if a.t == T.SCALAR and b.t == T.SCALAR:
            regs[d] = scalar.alu(op, is64, a, b, ins.off, src)
            return
        regs[d] = self._ptr_alu(ins, op, is64, a, b)

    def _ptr_leak(self, r: int, v: Reg, what: str) -> None:
        if not self.privileged:
            self.fail(f"r{r} holds a pointer ({_kind(v)}); {what} of a pointer would leak it "
                      "(allowed only for privileged programs)")

    def _ptr_alu(self, ins: Insn, op: int, is64: bool, a: Reg, b: Reg) -> Reg:
        d = ins.dst
        opname = ALU_NAMES.get(op, hex(op))
        if a.t != T.SCALAR and b.t != T.SCALAR:
            if op == Alu.SUB and is64 and self.privileged:
                return unknown(self.pc)
            self.fail(f"r{d} {opname}= r{ins.src}: arithmetic between two pointers "
                      f"({_kind(a)}, {_kind(b)}) is not allowed")
        if not is64:
            if op == Alu.SUB and self.privileged:
                return ranged(0, M32, self.pc)  # a meaningless number, as the kernel makes it
            self.fail(f"r{d}: 32-bit arithmetic on a pointer is not allowed; use 64-bit ops")
        ptr, off = (a, b) if a.t != T.SCALAR else (b, a)
        if op not in (Alu.ADD, Alu.SUB):
            self.fail(f"r{d}: the {opname} operator on a pointer ({_kind(ptr)}) is not allowed; "
                      "only + and - with a number are")
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
            self.fail(f"r{d}: arithmetic on {_kind(ptr)} is not allowed")
        name = _kind(ptr)
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
        if off.smin >= MAX_VAR_OFF or off.smax >= MAX_VAR_OFF:
            self.fail(f"r{d}: the number added to the {name} pointer may be as large as "
                      f"{off.smax}; bound it first (e.g. 'if rX > 100 goto ...')")
        var = scalar.alu(op, True, ptr, off)
        r = ptr.copy(tn=var.tn, smin=var.smin, smax=var.smax, umin=var.umin, umax=var.umax)
        if t in (T.PACKET, T.PACKET_META):
            assert self.st is not None
            r.id = self.st.new_id() + 1_000_000
            r.rng = 0
        return r

    # -- memory -------------------------------------------------------------
    def _ldx(self, ins: Insn, st: State) -> None:
        regs = st.cur.regs
        self.write_check(ins.dst)
        base = self.read(regs, ins.src)
        size = SIZE_BYTES[ins.size]  # type: ignore[index]
        val = self._access(st, ins.src, base, ins.off, size, write=False)
        if ins.mode == Mode.MEMSX and val.t == T.SCALAR and not val.is_const:
            h = 1 << (size * 8 - 1)
            val = Reg(T.SCALAR, 0, tn.UNKNOWN, -h, h - 1, 0, M64, src=self.pc)
            from .state import sync

            val = sync(val)
        elif ins.mode == Mode.MEMSX and val.is_const:
            val = const(tn.to_signed(val.const, size * 8), self.pc)
        regs[ins.dst] = val

    def _store(self, ins: Insn, st: State) -> None:
        regs = st.cur.regs
        base = self.read(regs, ins.dst)
        size = SIZE_BYTES[ins.size]  # type: ignore[index]
        if ins.cls == Class.ST:
            val = const(ins.imm)
        else:
            val = self.read(regs, ins.src)
            if ins.mode == Mode.ATOMIC:
                self._atomic(ins, st, base, val, size)
                return
            if val.t != T.SCALAR and not self.privileged and base.t != T.STACK:
                self.fail(f"r{ins.src} holds a pointer; storing it to {_kind(base)} memory "
                          "would leak it")
        self._access(st, ins.dst, base, ins.off, size, write=True, value=val)

    def _atomic(self, ins: Insn, st: State, base: Reg, val: Reg, size: int) -> None:
        if base.t not in (T.STACK, T.MAP_VALUE, T.MEM):
            self.fail(f"r{ins.dst}: atomic operations work only on stack and map values, not "
                      f"on {_kind(base)}")
        if val.t != T.SCALAR and ins.imm != AtomicOp.XCHG:
            self.fail(f"r{ins.src} holds a pointer; atomic arithmetic on it is not allowed")
        regs = st.cur.regs
        if ins.imm == AtomicOp.CMPXCHG:
            self.read(regs, 0)
        self._access(st, ins.dst, base, ins.off, size, write=False)
        self._access(st, ins.dst, base, ins.off, size, write=True, value=unknown())
        if ins.imm == AtomicOp.CMPXCHG:
            regs[0] = unknown(self.pc) if size == 8 else ranged(0, M32, self.pc)
        elif ins.imm & AtomicOp.FETCH:
            regs[ins.src] = unknown(self.pc) if size == 8 else ranged(0, M32, self.pc)

    def _loaded(self, size: int) -> Reg:
        return unknown(self.pc) if size == 8 else ranged(0, (1 << (8 * size)) - 1, self.pc)

    def _access(self, st: State, r: int, base: Reg, off: int, size: int, *, write: bool,
                value: Reg | None = None) -> Reg:
        """Check one load/store through ``base``; returns the loaded value."""
        t = base.t
        verb = "write to" if write else "read from"
        if t == T.STACK:
            self._stack_access(st, r, base, off, size, write, value)
            return self._stack_read(st, base, off, size) if not write else NOT_INIT
        if t == T.CTX:
            if base.off or not (base.is_const and base.const == 0):
                self.fail(f"r{r}: the context pointer was moved (offset {base.off}); access "
                          f"context fields through the original pointer with an offset")
            if self.ctx_check is None:
                self.fail(f"the pybpf verifier has no context layout for program type "
                          f"{ProgType(self.prog_type).name.lower()}")
            res = self.ctx_check(off, size, write)
            if isinstance(res, str):
                self.fail(f"invalid context access at offset {off} (size {size}): {res}")
            if write:
                return NOT_INIT
            if res == T.SCALAR:
                return self._loaded(size)
            return pointer(res, src=self.pc)
        if t == T.MAP_VALUE:
            m = self.maps[base.map]
            if write and (m.flags & RDONLY_PROG or m.freeze):
                self.fail(f"map '{m.name}' is read-only for programs; it cannot be written")
            self._region(r, base, off, size, m.value_size, f"map '{m.name}' value")
            lock = _spin_lock_off(m)
            if lock is not None:
                lo = base.off + off + base.smin
                hi = base.off + off + base.umax + size
                if lo < lock + 4 and hi > lock:
                    self.fail(f"the bpf_spin_lock in map '{m.name}' cannot be {verb} directly; "
                              "use bpf_spin_lock/unlock")
            return NOT_INIT if write else self._loaded(size)
        if t == T.MEM:
            self._region(r, base, off, size, base.rng, "ring buffer record")
            return NOT_INIT if write else self._loaded(size)
        if t in (T.PACKET, T.PACKET_META):
            if write and self.prog_type not in ctx.PKT_WRITABLE:
                self.fail(f"r{r}: this program type may not write packet data directly")
            if base.smin < 0:
                self.fail(f"r{r}: the packet offset may be negative; bound it first")
            if base.umax > MAX_PACKET_OFF:
                self.fail(f"r{r}: the packet offset may be beyond the largest packet")
            o = base.off + off
            if o < 0 or o + size > base.rng:
                end = "data_end" if t == T.PACKET else "data"
                self.fail(f"packet access r{r}{o:+d} ({size} bytes) is outside the {base.rng} "
                          f"bytes proven in bounds; compare r{r}{o + size:+d} with {end} first")
            return NOT_INIT if write else self._loaded(size)
        if t in NULLABLE:
            self.fail(f"r{r} may be null here: check the result of {self._origin(base)} "
                      f"against 0 before the {verb} through it")
        if t == T.SCALAR:
            self.fail(f"r{r} is a number ({fmt_reg(base)}), not a pointer: memory cannot be "
                      f"{'written' if write else 'read'} through it")
        if t == T.BTF_ID and not write:
            return self._loaded(size)
        self.fail(f"r{r} is a {_kind(base)} pointer; memory cannot be "
                  f"{'written' if write else 'read'} through it")

    def _region(self, r: int, base: Reg, off: int, size: int, limit: int, what: str) -> None:
        o = base.off + off
        if base.smin < 0 and (base.smin == S64_MIN or o + base.smin < 0):
            self.fail(f"r{r}: the offset into the {what} may be negative; use an unsigned "
                      "index or check 'if rX s< 0' first")
        if o + base.smin < 0 or o + base.smin + size > limit:
            self.fail(f"{'write to' if False else 'access to'} the {what} at offset "
                      f"{o + base.smin} ({size} bytes) is outside its {limit} bytes")
        if base.umax >= MAX_VAR_OFF:
            self.fail(f"r{r}: the offset into the {what} is unbounded; check it against the "
                      "size first (e.g. 'if rX > N goto ...')")
        if o + base.umax + size > limit:
            span = (f"offsets {o + base.smin}..{o + base.umax}" if base.umax != base.smin
                    else f"offset {o}")
            self.fail(f"access to the {what} at {span} ({size} bytes) may go beyond its "
                      f"{limit} bytes")

    def _stack_range(self, r: int, base: Reg, off: int, size: int) -> tuple[int, int]:
        """The byte range [lo, hi) below fp an access may touch."""
        lo = base.off + off + base.smin
        hi = base.off + off + base.smax + size
        if lo < -STACK or hi > 0:
            if base.is_const:
                self.fail(f"stack access at fp{lo:+d} ({size} bytes) is outside the "
                          f"{STACK}-byte stack frame (fp-{STACK}..fp-1)")
            self.fail(f"r{r}: stack access at fp{lo:+d}..fp{hi - size:+d} may be outside the "
                      f"{STACK}-byte stack frame; bound the offset")
        return lo, hi

    def _frame_of(self, st: State, base: Reg) -> Frame:
        return st.frames[base.frame]

    def _stack_access(self, st: State, r: int, base: Reg, off: int, size: int, write: bool,
                      value: Reg | None) -> None:
        lo, hi = self._stack_range(r, base, off, size)
        f = self._frame_of(st, base)
        if base.is_const and lo % size:
            self.fail(f"misaligned stack access at fp{lo:+d} ({size} bytes): align it to "
                      f"{size}")
        f.depth = max(f.depth, -lo)
        sp = f.subprog
        self.depth[sp] = max(self.depth.get(sp, 0), f.depth)
        if not write:
            return
        stk, spills = f.stack, f.spills
        a, b = lo + STACK, hi + STACK
        if not base.is_const:
            for i in range(a, b):
                if stk[i] == SPILL:
                    self._unspill(f, i & ~7)
                if stk[i] == ZERO:
                    stk[i] = MISC
            return
        for s in range(a & ~7, b, 8):
            if s in spills:
                self._unspill(f, s)
        assert value is not None
        if value.t != T.SCALAR and size != 8:
            self.fail(f"r{r}: a pointer can only be spilled to the stack as 8 bytes, not {size}")
        if size == 8 and (value.t != T.SCALAR or not value.is_const or value.const or True):
            stk[a:b] = bytes([SPILL]) * 8
            spills[a] = value
            return
        if value.t == T.SCALAR and value.is_const and value.const & ((1 << (8 * size)) - 1) == 0:
            stk[a:b] = bytes([ZERO]) * size
        else:
            stk[a:b] = bytes([MISC]) * size

    def _unspill(self, f: Frame, s: int) -> None:
        sp = f.spills.pop(s)
        zero = sp.t == T.SCALAR and sp.is_const and sp.const == 0
        f.stack[s:s + 8] = bytes([ZERO if zero else MISC]) * 8

    def _stack_read(self, st: State, base: Reg, off: int, size: int) -> Reg:
        lo, hi = base.off + off + base.smin, base.off + off + base.smax + size
        f = self._frame_of(st, base)
        a, b = lo + STACK, hi + STACK
        stk = f.stack
        seg = stk[a:b]
        if INVALID in seg and self.strict_stack:
            i = a + seg.index(INVALID)
            self.fail(f"read of {size} bytes at fp{lo:+d} includes the uninitialized stack "
                      f"byte fp{i - STACK:+d}; write it first")
        if base.is_const and stk[a] == SPILL and a & 7 == 0 and size == 8:
            return f.spills[a]
        if base.is_const and all(c == SPILL for c in seg):
            sp = f.spills[a & ~7]
            if sp.t == T.SCALAR and sp.is_const:
                v = sp.const >> (8 * (a & 7))
                return const(v & ((1 << (8 * size)) - 1), self.pc)
        if base.is_const and stk[a] == SPILL and f.spills[a & ~7].t != T.SCALAR:
            self.fail(f"the 8-byte slot at fp{(a & ~7) - STACK:+d} holds a spilled pointer; it "
                      f"can only be read back whole (8 aligned bytes), not {size} at fp{lo:+d}")
        if all(c == ZERO for c in seg) or all(
                c == ZERO or (c == SPILL and _is_zero(f.spills[(i + a) & ~7]))
                for i, c in enumerate(seg)):
            return const(0, self.pc)
        return self._loaded(size)

    def _stack_const(self, st: State, base: Reg, size: int) -> int | None:
        """The constant stored in ``size`` stack bytes at ``base``, if known."""
        f = self._frame_of(st, base)
        a = base.off + STACK
        seg = f.stack[a:a + size]
        if all(c == ZERO for c in seg):
            return 0
        if all(c == SPILL for c in seg):
            sp = f.spills[a & ~7]
            if sp.t == T.SCALAR and sp.is_const:
                return (sp.const >> (8 * (a & 7))) & ((1 << (8 * size)) - 1)
        return None

    def _origin(self, r: Reg) -> str:
        """Where a value came from, in words (for messages)."""
        i = r.src
        if 0 <= i < len(self.insns):
            ins = self.insns[i]
            if ins.cls == Class.JMP and ins.opcode & 0xF0 == Jmp.CALL and ins.src == 0 \
                    and 0 <= ins.imm < len(HELPER_NAMES):
                return f"bpf_{HELPER_NAMES[ins.imm]} at insn {i}"
            return f"insn {i}"
        return "its source"

    def _ld_pkt(self, ins: Insn, st: State) -> None:
        """Legacy BPF_LD_ABS / BPF_LD_IND packet loads."""
        if self.prog_type not in ctx.LD_ABS_TYPES:
            self.fail("legacy packet loads (ld_abs/ld_ind) are not allowed for this program "
                      "type")
        regs = st.cur.regs
        if regs[6].t != T.CTX:
            self.fail("legacy packet loads need the context in r6 (r6 = r1 at the start)")
        if ins.mode == Mode.IND:
            self.read(regs, ins.src)
        if st.refs:
            self.fail("legacy packet loads cannot be mixed with held references")
        for i in range(1, 6):
            regs[i] = NOT_INIT
        regs[0] = self._loaded(SIZE_BYTES[ins.size])  # type: ignore[index]

    def _lddw(self, pc: int, ins: Insn, st: State) -> None:
        regs = st.cur.regs
        self.write_check(ins.dst)
        src = ins.src
        if src == PseudoSrc.IMM:
            regs[ins.dst] = const(imm64_of(ins, self.insns[pc + 1]), pc)
            return
        if src == PseudoSrc.FUNC:
            regs[ins.dst] = pointer(T.FUNC, rng=pc + 1 + ins.imm, src=pc)
            return
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.MAP_VALUE,
                   PseudoSrc.MAP_IDX_VALUE):
            idx, off = self.lddw_map.get(pc, (ins.imm, self.insns[pc + 1].imm))
            if not 0 <= idx < len(self.maps):
                self.fail(f"insn {pc} loads map #{idx}, but only {len(self.maps)} maps were "
                          "given; pass the program's maps")
            if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
                regs[ins.dst] = pointer(T.MAP_PTR, map=idx, src=pc)
                return
            m = self.maps[idx]
            if m.type != MapType.ARRAY or m.max_entries != 1:
                self.fail(f"the value of map '{m.name}' cannot be addressed directly: only "
                          "single-entry array maps allow it")
            if not 0 <= off < m.value_size:
                self.fail(f"offset {off} is outside the {m.value_size}-byte value of map "
                          f"'{m.name}'")
            regs[ins.dst] = pointer(T.MAP_VALUE, off, map=idx, src=pc)
            return
        self.fail(f"64-bit load with source {src} (BTF object) is not supported by the pybpf "
                  "verifier")

    # -- jumps --------------------------------------------------------------
    def _cond(self, pc: int, ins: Insn, st: State, pending: list[tuple[int, State]]) -> int | None:
        """Follow a conditional jump; returns the next pc, or None when no side is feasible."""
        regs = st.cur.regs
        op = ins.opcode & 0xF0
        is32 = ins.cls == Class.JMP32
        a = self.read(regs, ins.dst)
        if ins.source:
            b = self.read(regs, ins.src)
        else:
            b = const(ins.imm & M32 if is32 else ins.imm)
        tgt = jump_target(pc, ins)
        if a.t == T.SCALAR and b.t == T.SCALAR:
            dec = branch.taken(op, a, b, is32)
            if dec is not None:
                return self._go(st, pc, tgt if dec else pc + 1, dec)
            yes = branch.refine(op, a, b, is32)
            if op == Jmp.JSET:
                no: tuple[Reg, Reg] | None = (branch.refine_not_set(a, b, is32), b)
            else:
                no = branch.refine(branch.NEGATE[op], a, b, is32)
            return self._split(st, pc, tgt, ins, yes, no, pending)
        if not self.privileged and op not in (Jmp.JEQ, Jmp.JNE):
            self.fail(f"comparing pointers (r{ins.dst} {_kind(a)}) is not allowed for "
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
            if ptr.t not in (T.SCALAR, T.MAP_PTR) or ptr.t == T.MAP_PTR:
                # a valid pointer is never null
                eq = False
                dec = eq if op == Jmp.JEQ else not eq
                return self._go(st, pc, tgt if dec else pc + 1, dec)
        if a.t in (T.PACKET, T.PACKET_META, T.PACKET_END) and \
                b.t in (T.PACKET, T.PACKET_META, T.PACKET_END) and not is32:
            return self._pkt_cmp(pc, op, ins, st, a, b, tgt, pending)
        other_st = st.copy()
        self._fork(self._path_add(other_st, pc, True), tgt, pending)
        self._path_add(st, pc, False)
        return pc + 1

    def _go(self, st: State, pc: int, nxt: int, taken: bool) -> int:
        return nxt

    def _path_add(self, st: State, pc: int, taken: bool) -> State:
        st.path = (pc if taken else ~pc, st.path)  # type: ignore[assignment]
        return st

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
        if ins.source and regs[ins.src].t == T.SCALAR:
            regs[ins.src] = pair[1]

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

    # -- calls and exits ----------------------------------------------------
    def _call(self, pc: int, ins: Insn, st: State, pending: list[tuple[int, State]]) -> int:
        if ins.source:
            self.fail("indirect calls (callx) are not supported by the pybpf verifier")
        if ins.src == CallSrc.KFUNC:
            self.fail("kfunc calls are not supported by the pybpf verifier")
        if ins.src == CallSrc.LOCAL:
            if st.lock is not None:
                self.fail("function calls are not allowed while holding a bpf_spin_lock")
            target = pc + 1 + ins.imm
            self._enter(st, pc, target, st.cur.regs[1:6], cb=0)
            return target
        return self._helper(pc, ins.imm, st, pending)

    def _enter(self, st: State, callsite: int, target: int, args: list[Reg], cb: int) -> None:
        if len(st.frames) >= MAX_FRAMES:
            self.fail(f"the call stack of {len(st.frames) + 1} frames is too deep (at most "
                      f"{MAX_FRAMES})")
        caller = self.cfg.subprog_of(callsite)
        self.calls.setdefault(caller, set()).add(target)
        regs = [NOT_INIT] * 11
        for i, r in enumerate(args, 1):
            regs[i] = r
        regs[10] = pointer(T.STACK, frame=len(st.frames))
        f = Frame(regs, callsite, target)
        f.cb = cb
        st.frames.append(f)

    def _exit(self, st: State, pending: list[tuple[int, State]]) -> int | None:
        f = st.cur
        r0 = self.read(f.regs, 0)
        if len(st.frames) == 1:
            if st.lock is not None:
                self.fail(f"the bpf_spin_lock taken at insn {st.lock.insn} is not released "
                          "on this path; call bpf_spin_unlock before exit")
            if st.refs:
                ref, at = next(iter(st.refs.items()))
                self.fail(f"the ring buffer record reserved at insn {at} is neither submitted "
                          "nor discarded on this path; call bpf_ringbuf_submit or "
                          "bpf_ringbuf_discard")
            if r0.t != T.SCALAR and not self.privileged:
                self.fail(f"r0 holds a pointer ({_kind(r0)}); returning it would leak it")
            return None
        if r0.t == T.STACK and r0.frame == len(st.frames) - 1:
            self.fail("returning a pointer to this function's own stack is not allowed")
        if f.cb:
            if r0.t != T.SCALAR or r0.smin < 0 or r0.smax > 1:
                self.fail(f"a bpf_loop callback must return 0 or 1, but r0 = {fmt_reg(r0)}")
        st.frames.pop()
        caller = st.cur
        callsite = f.callsite
        if f.cb:
            # run the callback again (another iteration) or return to the caller
            again = st.copy()
            regs = [NOT_INIT] * 11
            regs[1] = ranged(0, 1 << 23, callsite)
            regs[2] = again.cur.regs[3]
            regs[10] = pointer(T.STACK, frame=len(again.frames))
            nf = Frame(regs, callsite, f.subprog)
            nf.cb = 1
            again.frames.append(nf)
            self._fork(again, f.subprog, pending)
            caller.regs[0] = unknown(callsite)
        else:
            caller.regs[0] = r0
        for i in range(1, 6):
            caller.regs[i] = NOT_INIT
        return callsite + 1

    def _helper(self, pc: int, hid: int, st: State, pending: list[tuple[int, State]]) -> int:
        name = HELPER_NAMES[hid] if 0 <= hid < len(HELPER_NAMES) else None
        if name is None:
            self.fail(f"call to helper #{hid}: no such helper")
        p = PROTOS.get(hid)
        if p is None:
            self.fail(f"helper bpf_{name}#{hid} is not known to the pybpf verifier")
        if self.prog_type not in p.progs:
            self.fail(f"program type {ProgType(self.prog_type).name.lower()} cannot call "
                      f"bpf_{name}")
        if p.gpl and not self.gpl:
            self.fail(f"bpf_{name} is GPL-only: the program needs a GPL-compatible license")
        if st.lock is not None and name != "spin_unlock":
            self.fail(f"calling bpf_{name} while holding a bpf_spin_lock is not allowed; "
                      "unlock first")
        regs = st.cur.regs
        meta: dict[str, int] = {}
        for i, kind in enumerate(p.args, 1):
            self._arg(st, p, i, kind, regs, meta)
        cb_target = meta.get("callback")
        if p.name in ("ringbuf_submit", "ringbuf_discard"):
            self._release(st, regs[1].ref)
        if p.name == "spin_lock":
            if st.lock is not None:
                self.fail("a second bpf_spin_lock is taken while one is held")
            from .state import Lock

            st.lock = Lock(regs[1].map, pc)
        elif p.name == "spin_unlock":
            if st.lock is None:
                self.fail("bpf_spin_unlock without a matching bpf_spin_lock")
            st.lock = None
        if p.pkt_changing:
            self._clear_pkt(st)
        if cb_target is not None:
            # bpf_loop: the callback may run zero or more times
            cb_st = st.copy()
            args = [ranged(0, 1 << 23, pc), regs[3], NOT_INIT, NOT_INIT, NOT_INIT]
            self._enter(cb_st, pc, cb_target, args, cb=1)
            self._fork(cb_st, cb_target, pending)
        for i in range(1, 6):
            regs[i] = NOT_INIT
        regs[0] = self._ret(st, p, meta, pc)
        return pc + 1

    def _ret(self, st: State, p: Proto, meta: dict[str, int], pc: int) -> Reg:
        if p.ret == Ret.VOID:
            return NOT_INIT
        if p.ret == Ret.MAP_VALUE_OR_NULL:
            if meta.get("in_bounds"):  # constant in-range key of an array: never null
                return pointer(T.MAP_VALUE, map=meta["map"], src=pc)
            return pointer(T.MAP_VALUE_OR_NULL, map=meta["map"], id=st.new_id(), src=pc)
        if p.ret == Ret.MEM_OR_NULL:
            ref = st.new_id()
            st.refs[ref] = pc
            return pointer(T.MEM_OR_NULL, rng=meta["size"], id=ref, ref=ref, src=pc)
        if p.ret == Ret.BTF_ID:
            return pointer(T.BTF_ID, src=pc)
        return unknown(pc)

    def _release(self, st: State, ref: int) -> None:
        st.refs.pop(ref, None)
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.ref == ref:
                    f.regs[i] = unknown(r.src)
            for s, r in list(f.spills.items()):
                if r.ref == ref:
                    f.spills[s] = unknown(r.src)

    def _clear_pkt(self, st: State) -> None:
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.t in (T.PACKET, T.PACKET_META, T.PACKET_END):
                    f.regs[i] = unknown(r.src)
            for s, r in list(f.spills.items()):
                if r.t in (T.PACKET, T.PACKET_META, T.PACKET_END):
                    f.spills[s] = unknown(r.src)

    def _arg(self, st: State, p: Proto, i: int, kind: Arg, regs: list[Reg],
             meta: dict[str, int]) -> None:
        fn = f"bpf_{p.name}"
        r = self.read(regs, i)
        if kind == Arg.ANYTHING:
            return
        if kind == Arg.MAP_PTR:
            if r.t != T.MAP_PTR:
                self.fail(f"argument {i} (r{i}) of {fn} must be a map (lddw rX, map), not "
                          f"{_kind(r)}")
            m = self.maps[r.map]
            if not map_allowed(p, m.type):
                self.fail(f"map '{m.name}' of type {MapType(m.type).name.lower()} cannot be "
                          f"passed to {fn}")
            meta["map"] = r.map
            return
        if kind in (Arg.MAP_KEY, Arg.MAP_VALUE, Arg.UNINIT_MAP_VALUE):
            m = self.maps[meta["map"]]
            size = m.key_size if kind == Arg.MAP_KEY else m.value_size
            what = "key" if kind == Arg.MAP_KEY else "value"
            self._helper_mem(st, fn, i, r, size, kind == Arg.UNINIT_MAP_VALUE,
                             f"the {size}-byte {what} of map '{m.name}'")
            if kind == Arg.MAP_KEY and r.t == T.STACK and r.is_const and size == 4:
                key = self._stack_const(st, r, size)
                if key is not None and key < m.max_entries and m.type in (
                        MapType.ARRAY, MapType.PERCPU_ARRAY):
                    meta["in_bounds"] = 1
            return
        if kind in (Arg.MEM, Arg.UNINIT_MEM):
            meta["mem_arg"] = i
            meta["mem_write"] = int(kind == Arg.UNINIT_MEM)
            return
        if kind in (Arg.SIZE, Arg.SIZE_OR_ZERO):
            if r.t != T.SCALAR:
                self.fail(f"argument {i} (r{i}) of {fn} is a size and must be a number")
            if r.smin < 0:
                self.fail(f"r{i}: the size passed to {fn} may be negative; bound it "
                          "(e.g. 'r{i} &= 255')")
            if r.umin == 0 and kind == Arg.SIZE:
                self.fail(f"r{i}: the size passed to {fn} may be zero; it must be at least 1")
            if r.umax >= MAX_VAR_OFF:
                self.fail(f"r{i}: the size passed to {fn} is unbounded; bound it "
                          f"(e.g. 'if r{i} > 64 goto ...')")
            mi = meta["mem_arg"]
            if r.umax:
                self._helper_mem(st, fn, mi, regs[mi], r.umax, bool(meta["mem_write"]),
                                 f"{r.umax} bytes")
            return
        if kind == Arg.ALLOC_SIZE:
            if r.t != T.SCALAR or not r.is_const:
                self.fail(f"r{i}: the size passed to {fn} must be a known constant")
            meta["size"] = r.const
            return
        if kind == Arg.CTX:
            if r.t != T.CTX or r.off:
                self.fail(f"argument {i} (r{i}) of {fn} must be the context pointer (r1 at "
                          f"entry), not {_kind(r)}")
            return
        if kind == Arg.RINGBUF_MEM:
            if r.t == T.MEM_OR_NULL:
                self.fail(f"r{i} may be null: check the result of bpf_ringbuf_reserve at insn "
                          f"{r.src} against 0 before passing it to {fn}")
            if r.t != T.MEM or not r.ref or r.off or not (r.is_const and r.const == 0):
                self.fail(f"argument {i} (r{i}) of {fn} must be the unmodified pointer "
                          f"returned by bpf_ringbuf_reserve, not {fmt_reg(r)}")
            return
        if kind == Arg.FUNC:
            if r.t != T.FUNC:
                self.fail(f"argument {i} (r{i}) of {fn} must be a function (lddw r{i}, "
                          "callback)")
            meta["callback"] = r.rng
            return
        if kind == Arg.STACK_OR_NULL:
            if r.t == T.SCALAR and r.is_const and r.const == 0:
                return
            if r.t not in (T.STACK, T.MAP_VALUE):
                self.fail(f"argument {i} (r{i}) of {fn} must point to the stack or be 0")
            return
        if kind == Arg.SPIN_LOCK:
            if r.t != T.MAP_VALUE:
                self.fail(f"argument {i} (r{i}) of {fn} must point to a bpf_spin_lock in a map "
                          f"value, not {_kind(r)}")
            m = self.maps[r.map]
            lock = _spin_lock_off(m)
            if lock is None:
                self.fail(f"map '{m.name}' has no bpf_spin_lock in its value")
            if not r.is_const or r.off != lock:
                self.fail(f"r{i} must point exactly at the bpf_spin_lock (offset {lock}) of "
                          f"map '{m.name}'")
            if p.name == "spin_unlock" and st.lock is not None and st.lock.map != r.map:
                self.fail("bpf_spin_unlock of a different lock than the one held")
            return

    def _helper_mem(self, st: State, fn: str, i: int, r: Reg, size: int, write: bool,
                    what: str) -> None:
        t = r.t
        if t == T.STACK:
            lo, hi = self._stack_range(i, r, 0, size)
            f = self._frame_of(st, r)
            f.depth = max(f.depth, -lo)
            self.depth[f.subprog] = max(self.depth.get(f.subprog, 0), f.depth)
            a, b = lo + STACK, hi + STACK
            if write:
                if r.is_const:
                    for s in range(a & ~7, b, 8):
                        if s in f.spills:
                            self._unspill(f, s)
                    f.stack[a:b] = bytes([MISC]) * (b - a)
                return
            seg = f.stack[a:b]
            if INVALID in seg and self.strict_stack:
                j = a + seg.index(INVALID)
                self.fail(f"{fn} reads {what} from the stack at fp{lo:+d}, but the stack byte "
                          f"fp{j - STACK:+d} is uninitialized; write all of it first")
            return
        if t in (T.MAP_VALUE, T.MEM):
            if t == T.MAP_VALUE and write:
                m = self.maps[r.map]
                if m.flags & RDONLY_PROG or m.freeze:
                    self.fail(f"{fn} would write into read-only map '{m.name}'")
            limit = self.maps[r.map].value_size if t == T.MAP_VALUE else r.rng
            self._region(i, r, 0, size, limit, "map value" if t == T.MAP_VALUE else "record")
            return
        if t in (T.PACKET, T.PACKET_META):
            self._access(st, i, r, 0, size, write=False) if size <= 8 else None
            o = r.off
            if o < 0 or o + size > r.rng:
                self.fail(f"{fn} accesses {what} of packet at r{i}{o:+d}, beyond the {r.rng} "
                          "bytes proven in bounds")
            return
        if t in NULLABLE:
            self.fail(f"r{i} may be null here: check the result of {self._origin(r)} "
                      f"against 0 before passing it to {fn}")
        self.fail(f"argument {i} (r{i}) of {fn} must point to {what} (stack, map value or "
                  f"packet), not {_kind(r)}")

    # -- after the walk ---------------------------------------------------------
    def check_stack_depth(self) -> None:
        """Every call chain's frames together fit in 512 bytes (kernel check_max_stack_depth)."""
        def frame_size(sp: int) -> int:
            d = self.depth.get(sp, 0)
            return (d + 15) // 16 * 16

        def walk(sp: int, total: int, chain: tuple[int, ...]) -> None:
            total += frame_size(sp)
            if total > STACK:
                names = " -> ".join(f"insn {s}" for s in chain + (sp,))
                raise Reject(sp, f"the stack frames of the call chain {names} use {total} bytes "
                                 f"together; at most {STACK} are allowed", None)
            for c in self.calls.get(sp, ()):
                if c not in chain:
                    walk(c, total, chain + (sp,))

        walk(0, 0, ())


def _reg_sig(r: Reg) -> tuple[object, ...]:
    return (r.t, r.off, r.tn, r.smin, r.smax, r.umin, r.umax, r.map, r.rng, r.frame, r.id,
            r.ref)


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


def _spin_lock_off(m: MapSpec) -> int | None:
    off = getattr(m.value_type, "spin_lock_off", None)
    return off if isinstance(off, int) else None


def _is_zero(r: Reg) -> bool:
    return r.t == T.SCALAR and r.is_const and r.const == 0
