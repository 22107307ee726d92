"""Translate a program ONCE into Python source: one Python function per BPF function.

Why: a decode-and-dispatch loop costs several Python calls per instruction;
generated code with registers as local variables, constant-folded masks and
one dispatch per basic block (not per instruction) is an order of magnitude
faster on CPython. Semantics follow RFC 9669: registers hold unsigned 64-bit
ints, 32-bit operations zero the upper half, shifts mask their amount,
division by zero yields 0, modulo by zero leaves the dividend.

Shape of the output: each function is ``while True`` over a block id; blocks
with a single predecessor are inlined into it, blocks that jump to themselves
become an inner ``while True``. The executed-instruction count is added once
per block and checked against the budget at loop headers (and by the caller
at the end), so a run that executes more than the budget always fails.
Memory accesses index the region dicts directly and fall back to the checked
slow path in ``Memory`` on any exception, which names the instruction; accesses
at a constant in-bounds offset from r10 (read-only) go straight to the frame's
bytearray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..asm.insn import Insn, imm64_of, validate_program
from ..asm.opcodes import LDDW, Alu, CallSrc, Class, Jmp, Mode, PseudoSrc, Size, Source
from ..uapi import HELPER_NAMES
from .memory import M32, M64, STACK_SIZE, VmError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

S63 = 1 << 63
S31 = 1 << 31
_MAX_INDENT = 60
_MAX_INLINE_CHAIN = 100  # blocks inlined into one another (translator recursion depth)

_SIZE = {Size.B: 1, Size.H: 2, Size.W: 4, Size.DW: 8}
_LOADER = {1: "LB", 2: "LH", 4: "LW", 8: "LQ"}
_SLOADER = {1: "LSB", 2: "LSH", 4: "LSW"}
_STORER = {2: "PH", 4: "PW", 8: "PQ"}
_VMASK = {1: 0xFF, 2: 0xFFFF, 4: M32, 8: M64}

_CMP = {Jmp.JEQ: "==", Jmp.JNE: "!=", Jmp.JGT: ">", Jmp.JGE: ">=", Jmp.JLT: "<",
        Jmp.JLE: "<=", Jmp.JSGT: ">", Jmp.JSGE: ">=", Jmp.JSLT: "<", Jmp.JSLE: "<="}
_SIGNED_JMP = {Jmp.JSGT, Jmp.JSGE, Jmp.JSLT, Jmp.JSLE}

REGS = ", ".join(f"r{i}" for i in range(11))


@dataclass
class HelperInfo:
    """What the translator needs to know about a helper: that it exists, and whether
    it reads the budget/depth (``bpf_loop``, ``tail_call``) so they must be synced."""

    name: str
    syncs_state: bool = False


@dataclass
class Translation:
    """Generated source, compiled, and what is needed to bind it to a runtime."""

    source: str
    code: Any
    func_starts: list[int]
    helpers_used: list[int]
    line_insn: dict[int, int] = field(default_factory=dict)

    def instantiate(self, bindings: dict[str, Any]) -> dict[int, Callable[..., Any]]:
        """Run the factory with runtime objects; returns {function start: function}."""
        ns: dict[str, Any] = {}
        exec(self.code, ns)
        made: dict[int, Callable[..., Any]] = ns["_make"](**bindings)
        return made


LddwResolver = Callable[[int, Insn, Insn], int]


def translate(
    insns: list[Insn],
    *,
    helpers: dict[int, HelperInfo],
    resolve_lddw: LddwResolver,
    budget: int,
    trace: bool = False,
    name: str = "prog",
) -> Translation:
    """Validate ``insns`` and produce the compiled translation (errors name the insn)."""
    validate_program(insns)
    if not insns:
        raise VmError("the program is empty")
    gen = _Gen(insns, helpers, resolve_lddw, budget, trace)
    source = gen.generate()
    code = compile(source, f"<pybpf-vm {name}>", "exec")
    return Translation(source, code, gen.starts, sorted(gen.helpers_used), gen.line_insn)


class _Gen:
    def __init__(self, insns: list[Insn], helpers: dict[int, HelperInfo],
                 resolve: LddwResolver, budget: int, trace: bool) -> None:
        self.insns = insns
        self.helpers = helpers
        self.resolve = resolve
        self.budget = budget
        self.trace = trace
        self.helpers_used: set[int] = set()
        self.lines: list[str] = []
        self.line_insn: dict[int, int] = {}
        self.wide = {i + 1 for i, ins in enumerate(insns) if ins.opcode == LDDW}
        self.starts = self._function_starts()
        self._check_helpers()
        # r10 is the read-only frame pointer (RFC 9669, 4.0): a write is refused at load,
        # so [r10 + const] is a fixed place in this call's frame and needs no region lookup.
        for i, ins in enumerate(insns):
            if self._writes_r10(i, ins):
                raise VmError("r10 is the read-only frame pointer and cannot be written; "
                              "copy it to another register first", i)

    def _writes_r10(self, i: int, ins: Insn) -> bool:
        if i in self.wide:
            return False
        cls = ins.opcode & 7
        if cls in (Class.ALU, Class.ALU64, Class.LDX) or ins.opcode == LDDW:
            return ins.dst == 10
        if cls == Class.STX and ins.opcode & 0xE0 == Mode.ATOMIC:
            return ins.src == 10 and bool(ins.imm & 1)
        return False

    def _check_helpers(self) -> None:
        for i, ins in enumerate(self.insns):
            if i in self.wide or ins.opcode != Class.JMP | Jmp.CALL or ins.src != 0:
                continue
            h = ins.imm
            if h not in self.helpers:
                hname = HELPER_NAMES[h] if 0 <= h < len(HELPER_NAMES) else "unknown"
                raise VmError(f"helper {h} ({hname}) is not available in the vm; "
                              "register it with pybpf.vm.register_helper", i)
            self.helpers_used.add(h)

    # -- structure ----------------------------------------------------
    def _target(self, i: int, rel: int) -> int:
        t = i + rel + 1
        if not 0 <= t < len(self.insns) or t in self.wide:
            where = "outside the program" if not 0 <= t < len(self.insns) else \
                "into the middle of a 64-bit immediate load"
            raise VmError(f"jump or call target {t} is {where}", i)
        return t

    def _function_starts(self) -> list[int]:
        starts = {0}
        for i, ins in enumerate(self.insns):
            if i in self.wide:
                continue
            if ins.opcode == Class.JMP | Jmp.CALL and ins.src == CallSrc.LOCAL:
                starts.add(self._target(i, ins.imm))
            elif ins.opcode == LDDW and ins.src == PseudoSrc.FUNC:
                starts.add(self._target(i, ins.imm))
        return sorted(starts)

    def _blocks(self, lo: int, hi: int) -> tuple[list[int], dict[int, int]]:
        """Block leaders of function [lo, hi) and the end (exclusive) of each block."""
        leaders = {lo}
        i = lo
        while i < hi:
            ins = self.insns[i]
            cls = ins.opcode & 7
            step = 2 if ins.opcode == LDDW else 1
            if cls in (Class.JMP, Class.JMP32):
                code = ins.opcode & 0xF0
                if code == Jmp.JA:
                    rel = ins.imm if cls == Class.JMP32 else ins.off
                    leaders.add(self._check_local(i, self._target(i, rel), lo, hi))
                    leaders.add(i + 1)
                elif code == Jmp.EXIT:
                    leaders.add(i + 1)
                elif code != Jmp.CALL:
                    leaders.add(self._check_local(i, self._target(i, ins.off), lo, hi))
                    leaders.add(i + 1)
            i += step
        order = sorted(x for x in leaders if x < hi)
        ends = {b: (order[k + 1] if k + 1 < len(order) else hi) for k, b in enumerate(order)}
        return order, ends

    @staticmethod
    def _check_local(i: int, t: int, lo: int, hi: int) -> int:
        if not lo <= t < hi:
            raise VmError(f"jump to {t} leaves the function that starts at {lo}", i)
        return t

    # -- emission ---------------------------------------------------------
    def emit(self, indent: int, text: str, idx: int) -> None:
        self.lines.append("    " * indent + text)
        self.line_insn[len(self.lines)] = idx

    def generate(self) -> str:
        helpers_params = []
        self.lines = []
        body_start = len(self.lines)
        for k, lo in enumerate(self.starts):
            hi = self.starts[k + 1] if k + 1 < len(self.starts) else len(self.insns)
            self._function(lo, hi)
        body = self.lines[body_start:]
        for h in sorted(self.helpers_used):
            helpers_params.append(f"H{h}")
        params = ["E", "M", "R", "W", "T", "LB", "LH", "LW", "LQ", "LSB", "LSH", "LSW",
                  "PH", "PW", "PQ", "SDIV64", "SMOD64", "SDIV32", "SMOD32", "BS32", "BS64",
                  "FRAMES", *helpers_params]
        head = [f"def _make({', '.join(params)}):"]
        tail = ["    return {" + ", ".join(f"{s}: F{s}" for s in self.starts) + "}"]
        # line numbers shift by the header
        self.line_insn = {ln + len(head): i for ln, i in self.line_insn.items()}
        return "\n".join(head + ["    " + ln for ln in body] + tail) + "\n"

    def _function(self, lo: int, hi: int) -> None:
        """Emit function [lo, hi); blocks that could not be inlined where they were
        reached (nesting limits) join the dispatch tree on a second pass."""
        self.forced: set[int] = set()
        mark = len(self.lines)
        marks = dict(self.line_insn)
        while True:
            self._emit_function(lo, hi)
            missed = {t for t in self.pending if t not in self.emitted}
            if not missed:
                return
            self.forced |= missed
            del self.lines[mark:]
            self.line_insn = dict(marks)

    def _emit_function(self, lo: int, hi: int) -> None:
        order, ends = self._blocks(lo, hi)
        succ: dict[int, list[int]] = {b: self._successors(b, ends[b], hi) for b in order}
        preds: dict[int, int] = {b: 0 for b in order}
        headers: set[int] = set()
        for b, ss in succ.items():
            for s in ss:
                preds[s] += 1
                if s <= b:
                    headers.add(s)
        self.ends = ends
        self.succ = succ
        self.preds = preds
        self.headers = headers
        self.fn_lo, self.fn_hi = lo, hi
        self.emitted: set[int] = set()
        self._depth = 0
        kw = ", ".join(f"{p}={p}" for p in ("E", "M", "R", "W", "T", "LB", "LH", "LW", "LQ",
                                              "LSB", "LSH", "LSW", "PH", "PW", "PQ", "SDIV64",
                                              "SMOD64", "SDIV32", "SMOD32", "BS32", "BS64",
                                              "FRAMES"))
        hkw = ", ".join(f"H{h}=H{h}" for h in sorted(self._helpers_in(lo, hi)))
        self.emit(0, f"def F{lo}(r1=0, r2=0, r3=0, r4=0, r5=0, d=0, n=0, *, {kw}"
                     f"{', ' + hkw if hkw else ''}):", lo)
        self.emit(1, "r0 = r6 = r7 = r8 = r9 = 0", lo)
        self.emit(1, "r10 = 0x600000200 + (d << 33)", lo)
        self.emit(1, "FR = FRAMES[d]", lo)
        self.emit(1, f"b = {lo}", lo)
        self.emit(1, "while True:", lo)
        # blocks reached only by dispatch: everything not inlinable
        self.pending: list[int] = []
        dispatch = [b for b in order if not self._inlinable(b) or b == lo]
        self._dispatch_tree(dispatch, 2)
        self.emit(2, f"raise E.bad_block(b, {lo})", lo)

    def _helpers_in(self, lo: int, hi: int) -> set[int]:
        out = set()
        for i in range(lo, hi):
            ins = self.insns[i]
            if i not in self.wide and ins.opcode == Class.JMP | Jmp.CALL and ins.src == 0:
                out.add(ins.imm)
        return out

    def _successors(self, b: int, end: int, hi: int) -> list[int]:
        last = end - 1
        if last in self.wide:
            last -= 1
        ins = self.insns[last]
        cls = ins.opcode & 7
        if cls in (Class.JMP, Class.JMP32):
            code = ins.opcode & 0xF0
            if code == Jmp.EXIT:
                return []
            if code == Jmp.JA:
                return [last + 1 + (ins.imm if cls == Class.JMP32 else ins.off)]
            if code != Jmp.CALL:
                out = [last + 1 + ins.off]
                if last + 1 < hi:
                    out.append(last + 1)
                return out
        return [end] if end < hi else []

    def _inlinable(self, b: int) -> bool:
        return (b != self.fn_lo and self.preds[b] == 1 and b not in self.headers
                and b not in self.forced)

    def _dispatch_tree(self, blocks: list[int], indent: int) -> None:
        if len(blocks) <= 3 or indent > _MAX_INDENT - 10:
            for b in blocks:
                self.emit(indent, f"if b == {b}:", b)
                self._block(b, indent + 1)
            return
        mid = len(blocks) // 2
        self.emit(indent, f"if b < {blocks[mid]}:", blocks[0])
        self._dispatch_tree(blocks[:mid], indent + 1)
        self._dispatch_tree(blocks[mid:], indent)

    def _block(self, b: int, indent: int) -> None:
        self.emitted.add(b)
        end = self.ends[b]
        last = end - 1 if end - 1 not in self.wide else end - 2
        ins = self.insns[last]
        cls = ins.opcode & 7
        code = ins.opcode & 0xF0
        is_term = cls in (Class.JMP, Class.JMP32) and code != Jmp.CALL
        selfloop = b in self.succ[b]
        if selfloop:
            self.emit(indent, "while True:", b)
            indent += 1
        count = sum(1 for i in range(b, end) if i not in self.wide)
        self.emit(indent, f"n += {count}", b)
        if b in self.headers:
            self.emit(indent, f"if n > {self.budget}: raise E.over({b})", b)
        i = b
        body_end = last if is_term else end
        while i < body_end:
            self._insn(i, indent)
            if self.trace:
                self.emit(indent, f"T({i}, {REGS})", i)
            i += 2 if self.insns[i].opcode == LDDW else 1
        if not is_term:
            if end >= self.fn_hi:
                self.emit(indent, f"raise E.fell({end - 1})", end - 1)
                return
            self._goto(end, indent, b, selfloop)
            return
        if self.trace:
            self.emit(indent, f"T({last}, {REGS})", last)
        if code == Jmp.EXIT:
            self.emit(indent, "return r0, n", last)
            return
        if code == Jmp.JA:
            self._goto(self.succ[b][0], indent, b, selfloop)
            return
        cond = self._cond(ins)
        taken = last + 1 + ins.off
        fall = last + 1
        if fall >= self.fn_hi:
            self.emit(indent, f"if not ({cond}): raise E.fell({last})", last)
            self._goto(taken, indent, b, selfloop)
            return
        if selfloop:
            if taken == b and fall == b:
                self.emit(indent, "continue", last)
                return
            if taken == b:
                self.emit(indent, f"if {cond}: continue", last)
                self.emit(indent, "break", last)
                self._goto(fall, indent - 1, b, False)
            else:
                self.emit(indent, f"if {cond}: break", last)
                self.emit(indent, "continue", last)
                self._goto(taken, indent - 1, b, False)
            return
        self.emit(indent, f"if {cond}:", last)
        self._goto(taken, indent + 1, b, False)
        self._goto(fall, indent, b, False)

    def _goto(self, t: int, indent: int, src: int, in_loop: bool) -> None:
        if in_loop:  # an unconditional edge out of a self-loop body
            if t == src:
                self.emit(indent, "continue", src)
                return
            self.emit(indent, "break", src)
            indent -= 1
        if (self._inlinable(t) and t not in self.emitted and indent < _MAX_INDENT
                and self._depth < _MAX_INLINE_CHAIN):
            self._depth += 1
            try:
                self._block(t, indent)
            finally:
                self._depth -= 1
            return
        if self._inlinable(t) and t not in self.emitted:
            self.pending.append(t)
        self.emit(indent, f"b = {t}", src)
        self.emit(indent, "continue", src)

    # -- instructions ---------------------------------------------------
    def _cond(self, ins: Insn) -> str:
        cls = ins.opcode & 7
        code = ins.opcode & 0xF0
        x = ins.opcode & Source.X
        d = f"r{ins.dst}"
        s = f"r{ins.src}"
        if cls == Class.JMP:
            if code == Jmp.JSET:
                return f"{d} & {s}" if x else f"{d} & {ins.imm & M64}"
            if code in _SIGNED_JMP:
                rhs = f"({s} ^ {S63})" if x else str((ins.imm & M64) ^ S63)
                return f"({d} ^ {S63}) {_CMP[Jmp(code)]} {rhs}"
            rhs = s if x else str(ins.imm & M64)
            return f"{d} {_CMP[Jmp(code)]} {rhs}"
        if code == Jmp.JSET:
            return f"{d} & {s} & {M32}" if x else f"{d} & {ins.imm & M32}"
        if code in _SIGNED_JMP:
            rhs = f"(({s} ^ {S31}) & {M32})" if x else str((ins.imm & M32) ^ S31)
            return f"(({d} ^ {S31}) & {M32}) {_CMP[Jmp(code)]} {rhs}"
        rhs = f"({s} & {M32})" if x else str(ins.imm & M32)
        return f"({d} & {M32}) {_CMP[Jmp(code)]} {rhs}"

    def _insn(self, i: int, ind: int) -> None:
        ins = self.insns[i]
        cls = ins.opcode & 7
        if cls == Class.ALU64:
            self.emit(ind, self._alu64(ins), i)
        elif cls == Class.ALU:
            self.emit(ind, self._alu32(ins), i)
        elif cls == Class.LDX:
            self._load(i, ins, ind)
        elif cls in (Class.ST, Class.STX):
            if ins.opcode & 0xE0 == Mode.ATOMIC:
                self._atomic(i, ins, ind)
            else:
                self._store(i, ins, ind)
        elif cls == Class.LD:
            if ins.opcode == LDDW:
                value = self.resolve(i, ins, self.insns[i + 1]) & M64
                self.emit(ind, f"r{ins.dst} = {value}", i)
            else:
                size = _SIZE[Size(ins.opcode & 0x18)]
                base = "0" if ins.opcode & 0xE0 == Mode.ABS else f"r{ins.src}"
                self.emit(ind, f"r0 = E.ldabs({base}, {ins.imm}, {size}, {i})", i)
        elif cls == Class.JMP and ins.opcode & 0xF0 == Jmp.CALL:
            self._call(i, ins, ind)
        else:  # pragma: no cover - terminators never reach here
            raise VmError(f"unexpected opcode 0x{ins.opcode:02x}", i)

    def _call(self, i: int, ins: Insn, ind: int) -> None:
        if ins.opcode & Source.X:
            self.emit(ind, f"r0, n = E.callx(r{ins.dst}, r1, r2, r3, r4, r5, d, n, {i})", i)
            return
        if ins.src == CallSrc.LOCAL:
            t = i + ins.imm + 1
            self.emit(ind, f"if d >= 7: raise E.too_deep({i})", i)
            self.emit(ind, f"r0, n = F{t}(r1, r2, r3, r4, r5, d + 1, n)", i)
            return
        if ins.src == CallSrc.KFUNC:
            raise VmError(f"kfunc calls (btf id {ins.imm}) are not supported in the vm", i)
        h = ins.imm
        if self.helpers[h].syncs_state:
            self.emit(ind, f"E.n = n; E.d = d; E.pc = {i}", i)
            self.emit(ind, f"r0 = H{h}(E, r1, r2, r3, r4, r5) & {M64}", i)
            self.emit(ind, "n = E.n", i)
        else:
            self.emit(ind, f"r0 = H{h}(E, r1, r2, r3, r4, r5) & {M64}", i)

    def _alu64(self, ins: Insn) -> str:
        op = ins.opcode & 0xF0
        x = ins.opcode & Source.X
        d = f"r{ins.dst}"
        s = f"r{ins.src}"
        c = ins.imm & M64
        v = s if x else str(c)
        if op == Alu.ADD:
            return f"{d} = ({d} + {v}) & {M64}"
        if op == Alu.SUB:
            return f"{d} = ({d} - {v}) & {M64}"
        if op == Alu.MUL:
            return f"{d} = ({d} * {v}) & {M64}"
        if op == Alu.DIV:
            if ins.off == 1:
                return f"{d} = SDIV64({d}, {v})"
            if x:
                return f"{d} = {d} // {s} if {s} else 0"
            return f"{d} = {d} // {c}" if c else f"{d} = 0"
        if op == Alu.MOD:
            if ins.off == 1:
                return f"{d} = SMOD64({d}, {v})"
            if x:
                return f"{d} = {d} % {s} if {s} else {d}"
            return f"{d} = {d} % {c}" if c else "pass"
        if op in (Alu.OR, Alu.AND, Alu.XOR):
            sym = {Alu.OR: "|", Alu.AND: "&", Alu.XOR: "^"}[Alu(op)]
            return f"{d} = {d} {sym} {v}"
        sh = f"({s} & 63)" if x else str(ins.imm & 63)
        if op == Alu.LSH:
            return f"{d} = ({d} << {sh}) & {M64}"
        if op == Alu.RSH:
            return f"{d} = {d} >> {sh}"
        if op == Alu.ARSH:
            return f"{d} = ((({d} ^ {S63}) - {S63}) >> {sh}) & {M64}"
        if op == Alu.NEG:
            return f"{d} = -{d} & {M64}"
        if op == Alu.MOV:
            if not x:
                return f"{d} = {c}"
            if ins.off in (8, 16, 32):
                bit = 1 << (ins.off - 1)
                return f"{d} = ((({s} & {(1 << ins.off) - 1}) ^ {bit}) - {bit}) & {M64}"
            return f"{d} = {s}"
        if op == Alu.END:  # ALU64 bswap
            return self._swap(d, ins.imm)
        raise VmError(f"unknown opcode 0x{ins.opcode:02x}")  # pragma: no cover

    @staticmethod
    def _swap(d: str, width: int) -> str:
        if width == 16:
            return f"{d} = (({d} & 255) << 8) | (({d} >> 8) & 255)"
        if width == 32:
            return f"{d} = BS32({d})"
        return f"{d} = BS64({d})"

    def _alu32(self, ins: Insn) -> str:
        op = ins.opcode & 0xF0
        x = ins.opcode & Source.X
        d = f"r{ins.dst}"
        s = f"r{ins.src}"
        c = ins.imm & M32
        v = s if x else str(c)
        if op == Alu.ADD:
            return f"{d} = ({d} + {v}) & {M32}"
        if op == Alu.SUB:
            return f"{d} = ({d} - {v}) & {M32}"
        if op == Alu.MUL:
            return f"{d} = ({d} * {v}) & {M32}"
        if op == Alu.DIV:
            if ins.off == 1:
                return f"{d} = SDIV32({d}, {v})"
            if x:
                return f"{d} = ({d} & {M32}) // ({s} & {M32}) if {s} & {M32} else 0"
            return f"{d} = ({d} & {M32}) // {c}" if c else f"{d} = 0"
        if op == Alu.MOD:
            if ins.off == 1:
                return f"{d} = SMOD32({d}, {v})"
            if x:
                return (f"{d} = ({d} & {M32}) % ({s} & {M32}) if {s} & {M32} "
                        f"else {d} & {M32}")
            return f"{d} = ({d} & {M32}) % {c}" if c else f"{d} = {d} & {M32}"
        if op == Alu.AND:
            return f"{d} = {d} & {v} & {M32}" if x else f"{d} = {d} & {c}"
        if op in (Alu.OR, Alu.XOR):
            sym = "|" if op == Alu.OR else "^"
            return f"{d} = ({d} {sym} {v}) & {M32}"
        sh = f"({s} & 31)" if x else str(ins.imm & 31)
        if op == Alu.LSH:
            return f"{d} = ({d} << {sh}) & {M32}"
        if op == Alu.RSH:
            return f"{d} = ({d} & {M32}) >> {sh}"
        if op == Alu.ARSH:
            return f"{d} = (((({d} & {M32}) ^ {S31}) - {S31}) >> {sh}) & {M32}"
        if op == Alu.NEG:
            return f"{d} = -{d} & {M32}"
        if op == Alu.MOV:
            if not x:
                return f"{d} = {c}"
            if ins.off in (8, 16):
                bit = 1 << (ins.off - 1)
                return f"{d} = ((({s} & {(1 << ins.off) - 1}) ^ {bit}) - {bit}) & {M32}"
            return f"{d} = {s} & {M32}"
        if op == Alu.END:
            if not x:  # to little-endian: truncate
                return f"{d} = {d} & {_VMASK[ins.imm // 8]}" if ins.imm < 64 else "pass"
            return self._swap(d, ins.imm)
        raise VmError(f"unknown opcode 0x{ins.opcode:02x}")  # pragma: no cover

    @staticmethod
    def _addr(reg: int, off: int) -> tuple[str | None, str]:
        if off == 0:
            return None, f"r{reg}"
        return f"a = r{reg} + {off}", "a"

    def _frame_off(self, reg: int, off: int, size: int) -> int | None:
        """The offset in the current frame of [reg + off], when static and in bounds."""
        if reg != 10:
            return None
        pos = STACK_SIZE + off
        return pos if 0 <= pos and pos + size <= STACK_SIZE else None

    def _load(self, i: int, ins: Insn, ind: int) -> None:
        size = _SIZE[Size(ins.opcode & 0x18)]
        signed = ins.opcode & 0xE0 == Mode.MEMSX
        pos = self._frame_off(ins.src, ins.off, size)
        if pos is not None:
            d = f"r{ins.dst}"
            if signed:
                self.emit(ind, f"{d} = {_SLOADER[size]}(FR, {pos})[0] & {M64}", i)
            elif size == 1:
                self.emit(ind, f"{d} = FR[{pos}]", i)
            else:
                self.emit(ind, f"{d} = {_LOADER[size]}(FR, {pos})[0]", i)
            return
        pre, a = self._addr(ins.src, ins.off)
        if pre:
            self.emit(ind, pre, i)
        d = f"r{ins.dst}"
        loc = f"R[{a} >> 32], {a} & {M32}"
        if signed:
            fast = f"{d} = {_SLOADER[size]}({loc})[0] & {M64}"
        elif size == 1:
            fast = f"{d} = R[{a} >> 32][{a} & {M32}]"
        else:
            fast = f"{d} = {_LOADER[size]}({loc})[0]"
        self.emit(ind, f"try: {fast}", i)
        self.emit(ind, f"except Exception: {d} = M.load({a}, {size}, {i}, {bool(signed)})", i)

    def _store(self, i: int, ins: Insn, ind: int) -> None:
        size = _SIZE[Size(ins.opcode & 0x18)]
        if ins.opcode & 7 == Class.ST:
            v = str(ins.imm & _VMASK[size])
        else:
            v = f"r{ins.src}" if size == 8 else f"r{ins.src} & {_VMASK[size]}"
        pos = self._frame_off(ins.dst, ins.off, size)
        if pos is not None:
            if size == 1:
                self.emit(ind, f"FR[{pos}] = {v}", i)
            else:
                self.emit(ind, f"{_STORER[size]}(FR, {pos}, {v})", i)
            return
        pre, a = self._addr(ins.dst, ins.off)
        if pre:
            self.emit(ind, pre, i)
        if size == 1:
            fast = f"W[{a} >> 32][{a} & {M32}] = {v}"
        else:
            fast = f"{_STORER[size]}(W[{a} >> 32], {a} & {M32}, {v})"
        self.emit(ind, f"try: {fast}", i)
        self.emit(ind, f"except Exception: M.store({a}, {size}, {v}, {i})", i)

    def _atomic(self, i: int, ins: Insn, ind: int) -> None:
        size = _SIZE[Size(ins.opcode & 0x18)]
        op = ins.imm & 0xFF
        pre, a = self._addr(ins.dst, ins.off)
        if pre:
            self.emit(ind, pre, i)
        call = f"M.atomic({a}, {size}, {op}, r{ins.src}, r0, {i})"
        if op == 0xF1:
            self.emit(ind, f"r0 = {call}", i)
        elif op & 1:
            self.emit(ind, f"r{ins.src} = {call}", i)
        else:
            self.emit(ind, call, i)


def lddw_constant(i: int, first: Insn, second: Insn) -> int:
    """The default resolver: plain constants only."""
    if first.src != PseudoSrc.IMM:
        raise VmError(f"64-bit load with source {first.src} needs a map or function", i)
    return imm64_of(first, second)
