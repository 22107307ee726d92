"""Calls: helpers checked against their prototypes, BPF-to-BPF calls, exits, references."""

from __future__ import annotations

from ..asm.insn import Insn
from ..uapi import HELPER_NAMES, MapType, ProgType
from .base import (
    MAX_VAR_OFF,
    RDONLY_PROG,
    Reject,
    kind_name,
    possible_cpus,
    spin_lock_off,
)
from .helpers_proto import PROTOS, Arg, Proto, Ret, map_allowed
from .memory import MemoryChecks
from .ops import CallSrc
from .state import (
    INVALID,
    MAX_FRAMES,
    MISC,
    NOT_INIT,
    NULLABLE,
    STACK,
    Frame,
    Reg,
    State,
    T,
    fmt_reg,
    pointer,
    ranged,
    unknown,
)

CALL_MARK = 1 << 40  # a call in the recorded path (branches are pc or ~pc)


class CallChecks(MemoryChecks):
    """Helper arguments and results, call frames, and what must hold at exit."""

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

    def _enter(self, st: State, callsite: int, target: int, args: list[Reg], cb: int = 0) -> None:
        """Push a frame for ``target``; ``cb`` > 0: a callback that may run ``cb`` times."""
        if len(st.frames) >= MAX_FRAMES:
            self.fail(f"the call stack of {len(st.frames) + 1} frames is too deep (at most "
                      f"{MAX_FRAMES})")
        caller = self.cfg.subprog_of(callsite)
        self.calls.setdefault(caller, set()).add(target)
        regs = [NOT_INIT] * 11
        for i, r in enumerate(args, 1):
            regs[i] = r
        regs[10] = pointer(T.STACK, frame=len(st.frames))
        st.path = (callsite + CALL_MARK, st.path)  # type: ignore[assignment]
        f = Frame(regs, callsite, target)
        f.cb = 1 if cb else 0
        f.cb_left = cb - 1 if cb else 0
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
                self.fail(f"r0 holds a pointer ({kind_name(r0)}); returning it would leak it")
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
            # run the callback again (another iteration, if the count allows) or return
            if f.cb_left > 0:
                again = st.copy()
                self._enter(again, callsite, f.subprog,
                            [unknown(callsite), again.cur.regs[3]], cb=f.cb_left)
                self._fork(again, f.subprog, pending)
            caller.regs[0] = unknown(callsite)
        else:
            caller.regs[0] = r0
        for i in range(1, 6):
            caller.regs[i] = NOT_INIT
        return callsite + 1

    def _helper(self, pc: int, hid: int, st: State, pending: list[tuple[int, State]]) -> int:
        name = HELPER_NAMES[hid] if 0 <= hid < len(HELPER_NAMES) else None
        if hid == 0xBAD2310:
            self.fail("this call was poisoned by a CO-RE relocation that failed: the field or "
                      "type it needs does not exist in this kernel")
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
        if cb_target is not None and regs[1].umax > 0:
            # bpf_loop: the callback runs up to nr_loops times (like the kernel, not at all
            # when the count is known to be 0)
            cb_st = st.copy()
            self._enter(cb_st, pc, cb_target, [unknown(pc), regs[3]], cb=regs[1].umax)
            self._fork(cb_st, cb_target, pending)
        for i in range(1, 6):
            regs[i] = NOT_INIT
        regs[0] = self._ret(st, p, meta, pc)
        return pc + 1

    def _ret(self, st: State, p: Proto, meta: dict[str, int], pc: int) -> Reg:
        if p.ret == Ret.VOID:
            return NOT_INIT
        if p.ret == Ret.MAP_VALUE_OR_NULL and self.maps[meta["map"]].type in (
                MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            return pointer(T.MAP_PTR_OR_NULL, map=self._inner(meta["map"]), id=st.new_id(),
                           src=pc)
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
        if p.name == "get_smp_processor_id":  # the kernel knows it is below nr_cpu_ids
            return ranged(0, possible_cpus() - 1, pc)
        return unknown(pc)

    def _inner(self, outer: int) -> int:
        """The index of the inner-map template of map ``outer`` (added on first use)."""
        if outer not in self.inner_maps:
            m = self.maps[outer]
            if m.inner is None:
                self.fail(f"map '{m.name}' is a map of maps without an inner map template")
            self.maps.append(m.inner)
            self.inner_maps[outer] = len(self.maps) - 1
        return self.inner_maps[outer]

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
                          f"{kind_name(r)}")
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
                          f"entry), not {kind_name(r)}")
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
                          f"value, not {kind_name(r)}")
            m = self.maps[r.map]
            lock = spin_lock_off(m)
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
                  f"packet), not {kind_name(r)}")

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
