"""Loads and stores: stack slots, context fields, map values, packets, ring buffer records."""

from __future__ import annotations

from ..asm.insn import Insn, imm64_of
from ..uapi import MapType, ProgType
from . import ctx
from . import tnum as tn
from .base import (
    MAX_PACKET_OFF,
    MAX_VAR_OFF,
    RDONLY_PROG,
    AnalyzerBase,
    is_zero,
    kind_name,
    spin_lock_off,
)
from .ops import SIZE_BYTES, AtomicOp, Class, Mode, PseudoSrc
from .state import (
    INVALID,
    MISC,
    NOT_INIT,
    NULLABLE,
    S64_MIN,
    SPILL,
    STACK,
    ZERO,
    Frame,
    Reg,
    State,
    T,
    const,
    fmt_reg,
    pointer,
    ranged,
    unknown,
)
from .tnum import M64

_SIZES = {int(k): v for k, v in SIZE_BYTES.items()}


class MemoryChecks(AnalyzerBase):
    """Every memory access is inside an object the pointer may point to."""

    # -- memory -------------------------------------------------------------
    def _ldx(self, ins: Insn, st: State) -> None:
        regs = st.frames[-1].regs
        if ins.dst == 10:
            self.write_check(10)
        base = regs[ins.src]
        if base.t == T.NOT_INIT:
            self.read(regs, ins.src)
        opc = ins.opcode
        size = _SIZES[opc & 0x18]
        val = self._access(st, ins.src, base, ins.off, size, write=False)
        if opc & 0xE0 != Mode.MEMSX:
            regs[ins.dst] = val
            return
        if val.t == T.SCALAR and not val.is_const:
            h = 1 << (size * 8 - 1)
            val = Reg(T.SCALAR, 0, tn.UNKNOWN, -h, h - 1, 0, M64, src=self.pc)
            from .state import sync

            val = sync(val)
        elif val.is_const:
            val = const(tn.to_signed(val.const, size * 8), self.pc)
        regs[ins.dst] = val

    def _store(self, ins: Insn, st: State) -> None:
        regs = st.frames[-1].regs
        base = self.read(regs, ins.dst)
        opc = ins.opcode
        size = _SIZES[opc & 0x18]
        if opc & 7 == Class.ST:
            val = const(ins.imm)
        else:
            val = self.read(regs, ins.src)
            if opc & 0xE0 == Mode.ATOMIC:
                self._atomic(ins, st, base, val, size)
                return
            if val.t != T.SCALAR and not self.privileged and base.t != T.STACK:
                self.fail(f"r{ins.src} holds a pointer; storing it to {kind_name(base)} memory "
                          "would leak it")
        self._access(st, ins.dst, base, ins.off, size, write=True, value=val,
                     vreg=ins.src)

    def _atomic(self, ins: Insn, st: State, base: Reg, val: Reg, size: int) -> None:
        if base.t not in (T.STACK, T.MAP_VALUE, T.MEM):
            self.fail(f"r{ins.dst}: atomic operations work only on stack and map values, not "
                      f"on {kind_name(base)}")
        if val.t != T.SCALAR and not self.privileged:
            self.fail(f"r{ins.src} holds a pointer; storing it atomically would leak it")
        regs = st.cur.regs
        if ins.imm == AtomicOp.CMPXCHG:
            self.read(regs, 0)
        old = self._access(st, ins.dst, base, ins.off, size, write=False)
        self._access(st, ins.dst, base, ins.off, size, write=True, value=unknown())
        # a fetching operation returns what memory held (the kernel reads it the same way)
        if ins.imm == AtomicOp.CMPXCHG:
            regs[0] = old
        elif ins.imm & AtomicOp.FETCH:
            regs[ins.src] = old

    def _access(self, st: State, r: int, base: Reg, off: int, size: int, *, write: bool,
                value: Reg | None = None, vreg: int = -1) -> Reg:
        """Check one load/store through ``base``; returns the loaded value."""
        t = base.t
        kinds = self.mem_kinds  # which pointer kinds reach each access (see safe_accesses)
        kinds[self.pc] = kinds.get(self.pc, 0) | 1 << t
        verb = "write to" if write else "read from"
        if t == T.STACK:
            self._stack_access(st, r, base, off, size, write, value, vreg)
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
            lock = spin_lock_off(m)
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
                      f"against 0 before the {'write' if write else 'read'} through it")
        if t == T.SCALAR:
            self.fail(f"r{r} is a number ({fmt_reg(base)}), not a pointer: memory cannot be "
                      f"{'written' if write else 'read'} through it")
        if t == T.BTF_ID and not write:
            return self._loaded(size)
        self.fail(f"r{r} is a {kind_name(base)} pointer; memory cannot be "
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

    def _stack_access(self, st: State, r: int, base: Reg, off: int, size: int, write: bool,
                      value: Reg | None, vreg: int = -1) -> None:
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
        if value.t == T.STACK and value.frame > base.frame:
            self.fail(f"r{vreg} points into a called function's stack; storing it in the "
                      "caller's stack would outlive that frame")
        if value.t != T.SCALAR and size != 8:
            self.fail(f"r{vreg}: a pointer can only be spilled to the stack as 8 bytes, "
                      f"not {size}")
        if a & 7 == 0 and (size == 8 or self.privileged):
            # a register spill (scalars also narrow ones, as the kernel keeps them)
            if size < 8 and value.umax >> (8 * size):
                mask = (1 << (8 * size)) - 1
                value = const(value.const & mask, value.src) if value.is_const else \
                    ranged(0, mask, value.src)
            stk[a:b] = bytes([SPILL]) * size
            spills[a] = value
            return
        if value.t == T.SCALAR and value.is_const and value.const & ((1 << (8 * size)) - 1) == 0:
            stk[a:b] = bytes([ZERO]) * size
        else:
            stk[a:b] = bytes([MISC]) * size

    def _unspill(self, f: Frame, s: int) -> None:
        sp = f.spills.pop(s)
        zero = sp.t == T.SCALAR and sp.is_const and sp.const == 0
        stk = f.stack
        for i in range(s, s + 8):
            if stk[i] == SPILL:
                stk[i] = ZERO if zero else MISC

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
        if base.is_const and stk[a] == SPILL:
            sp = f.spills[a & ~7]
            if sp.t != T.SCALAR:
                if a & 7 == 0 and size == 8:
                    return sp
                self.fail(f"the 8-byte slot at fp{(a & ~7) - STACK:+d} holds a spilled pointer; "
                          f"it can only be read back whole (8 aligned bytes), not {size} at "
                          f"fp{lo:+d}")
            if seg.count(SPILL) == len(seg):
                if a & 7 == 0 and sp.umax >> (8 * size) == 0:
                    return sp
                if sp.is_const:
                    v = sp.const >> (8 * (a & 7))
                    return const(v & ((1 << (8 * size)) - 1), self.pc)
        if seg.count(ZERO) == len(seg) or all(
                c == ZERO or (c == SPILL and is_zero(f.spills[(i + a) & ~7]))
                for i, c in enumerate(seg)):
            return const(0, self.pc)
        return self._loaded(size)

    def _stack_const(self, st: State, base: Reg, size: int) -> int | None:
        """The constant stored in ``size`` stack bytes at ``base``, if known."""
        f = self._frame_of(st, base)
        a = base.off + STACK
        seg = f.stack[a:a + size]
        if seg.count(ZERO) == len(seg):
            return 0
        if seg.count(SPILL) == len(seg):
            sp = f.spills[a & ~7]
            if sp.t == T.SCALAR and sp.is_const:
                return (sp.const >> (8 * (a & 7))) & ((1 << (8 * size)) - 1)
        return None

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
        ref = self.lddw_map.get(pc)
        if ref is not None:
            src = ref[2]  # the loader patches src from the map reference
        if src == PseudoSrc.IMM:
            regs[ins.dst] = const(imm64_of(ins, self.insns[pc + 1]), pc)
            return
        if src == PseudoSrc.FUNC:
            regs[ins.dst] = pointer(T.FUNC, rng=pc + 1 + ins.imm, src=pc)
            return
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.MAP_VALUE,
                   PseudoSrc.MAP_IDX_VALUE):
            idx, off, _ = ref or (ins.imm, self.insns[pc + 1].imm, src)
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
