"""Code generation: typed AST → eBPF instructions → ``CollectionSpec`` + runtime metadata.

Model (kept simple so the verifier and the vm both follow it easily):
- r6 holds the context, r9 a scratch buffer where strings, tuples, map keys/values
  and event records live at offsets fixed at compile time; integers are computed in
  r0 and spilled to 8-byte stack slots. The scratch buffer is on the stack when the
  program fits in 512 bytes (the common case: no map lookup, bpftrace's code size),
  else one PERCPU_ARRAY entry (the program is generated twice to know).
- kstack/ustack are STACK_TRACE map ids (ustack with the pid in the upper half);
  for ($kv : @map) bodies are bpf_for_each_map_elem callbacks emitted after the
  main program (variables then live in the per-CPU scratch, shared by both frames).
- Async actions (printf, exit, print, clear, zero, system, time, cat) are records
  ``[u64 event id][payload]`` written to ONE ring buffer; ``CompiledScript`` says
  how to decode each one.
- One program per attach point, so the ``probe`` builtin is a constant.
"""

from __future__ import annotations

from ..asm.opcodes import Alu, Jmp
from ..spec import CollectionSpec, MapSpec, ProgramSpec, SourceLoc
from ..uapi import MapType
from . import ast
from . import types as T
from .emitter import FP, R0, R1, R2, R3, R4, R6, R7, R8, R9, Emitter
from .errors import Diagnostics, Loc
from .probes import ProbeSpec
from .script import (
    CPID,
    E2BIG,
    EV_CAT,
    EV_CLEAR,
    EV_EXIT,
    EV_JOIN,
    EV_PRINT_MAP,
    EV_PRINT_VALUE,
    EV_PRINTF,
    EV_SYSTEM,
    EV_TIME,
    EV_ZERO,
    GLOBALS,
    JOIN_ARGS,
    JOIN_LEN,
    LOST,
    MAPFULL,
    MAX_ENTRIES,
    PERCPU_KINDS,
    PT_REGS,
    PT_REGS_ARGS,
    PT_REGS_IP,
    PT_REGS_RET,
    PT_REGS_SP,
    RINGBUF,
    RINGBUF_SIZE,
    SCRATCH,
    SCRATCH_LIMIT,
    STACK_LIMIT,
    CompiledScript,
    FormatMeta,
    MapMeta,
    ProgramMeta,
)
from .semantic import MapInfo, ProbeInfo, Semantic, field_signed

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

class SkipProgram(Exception):  # noqa: N818 - control flow
    """This expansion of a wildcard probe lacks a field the script reads: no program."""


class CodegenError(Exception):
    def __init__(self, loc: Loc | None, msg: str) -> None:
        super().__init__(msg)
        self.loc = loc


def _bpf_map_name(name: str, used: set[str]) -> str:
    base = ("AT_" + name[1:])[:15]
    out, n = base, 1
    while out in used:
        suffix = f"_{n}"
        out = base[:15 - len(suffix)] + suffix
        n += 1
    used.add(out)
    return out


class Codegen:
    def __init__(self, sem: Semantic, diags: Diagnostics) -> None:
        self.sem = sem
        self.diags = diags
        self.script = CompiledScript(CollectionSpec())
        self.scratch_max = 8
        self.stack_maps: dict[int, str] = {}  # frame limit -> STACK_TRACE map name
        used: set[str] = set()
        for i, (name, info) in enumerate(sorted(sem.maps.items())):
            if info.value is None:
                continue
            keys = info.keys or []
            ksize = sum(T.storage_size(k) for k in keys) or 8
            if info.value.kind in ("hist", "lhist"):
                ksize += 8
            meta = MapMeta(name, _bpf_map_name(name, used), i, keys, info.value, ksize,
                           T.storage_size(info.value), info.lhist)
            self.script.maps[name] = meta

    # -- driver ----------------------------------------------------------
    def run(self) -> CompiledScript:
        spec = self.script.spec
        for info in self.sem.probes:
            for ap_spec in info.specs:
                self.program(info, ap_spec)
        for meta in self.script.maps.values():
            mtype = MapType.PERCPU_HASH if meta.percpu else MapType.HASH
            spec.maps[meta.bpf_name] = MapSpec(meta.bpf_name, mtype, meta.key_size,
                                               max(meta.value_size, 8), MAX_ENTRIES)
        if any(r.name == SCRATCH for p in spec.programs.values() for r in p.map_refs):
            # only programs too big for the stack use it: one map fewer to create
            spec.maps[SCRATCH] = MapSpec(SCRATCH, MapType.PERCPU_ARRAY, 4,
                                         (self.scratch_max + 7) & ~7, 1)
        spec.maps[RINGBUF] = MapSpec(RINGBUF, MapType.RINGBUF, 0, 0, RINGBUF_SIZE)
        if self.script.needs_globals:
            spec.maps[GLOBALS] = MapSpec(GLOBALS, MapType.ARRAY, 4, 8, 1)
        if self.script.needs_cpid:
            spec.maps[CPID] = MapSpec(CPID, MapType.ARRAY, 4, 8, 1)
        if self.script.needs_lost:
            spec.maps[LOST] = MapSpec(LOST, MapType.ARRAY, 4, 8, 1)
        if self.script.needs_mapfull:  # one value holding a u64 flag per map id
            nflags = max((m.id for m in self.script.maps.values()), default=0) + 1
            spec.maps[MAPFULL] = MapSpec(MAPFULL, MapType.ARRAY, 4, 8 * nflags, 1)
        for limit, name in self.stack_maps.items():
            spec.maps[name] = MapSpec(name, MapType.STACK_TRACE, 4, 8 * limit, MAX_ENTRIES)
        self.script.stack_maps = dict(self.stack_maps)
        return self.script

    def stack_map(self, limit: int) -> str:
        return self.stack_maps.setdefault(limit, f"stack_{limit}")

    def program(self, info: ProbeInfo, pspec: ProbeSpec) -> None:
        idx = len(self.script.programs)
        probe_id = len(self.script.probe_names)
        self.script.probe_names.append(pspec.name)
        short = {"tracepoint": "tp", "rawtracepoint": "rtp", "interval": "interval",
                 "profile": "profile", "uretprobe": "uretprobe", "kretprobe": "kretprobe"}
        name = f"{short.get(pspec.provider, pspec.provider)[:10]}_{idx}"
        script = self.script
        marks = (len(script.formats), len(script.prints))
        g = ProbeGen(self, info, pspec, probe_id)
        try:
            insns = g.generate()  # resolves labels; the emitter's refs are final after this
        except SkipProgram:
            self.script.probe_names.pop()
            return
        frame = g.stack_hw + g.scratch_hw
        if not g.vars_in_scratch and frame <= STACK_LIMIT:
            # small enough for the stack: generate again with scratch there (no per-CPU
            # map lookup; the ctx copy only if used), as bpftrace keeps keys on the stack
            del script.formats[marks[0]:], script.prints[marks[1]:]
            uses_ctx = any(i.src == R6 or i.dst == R6 for i in insns[1:])
            g = ProbeGen(self, info, pspec, probe_id, frame=frame, uses_ctx=uses_ctx)
            insns = g.generate()
        ps = ProgramSpec(name, pspec.prog_type, insns, "GPL", section=pspec.raw,
                         attach_to=_attach_to(pspec), map_refs=g.e.map_refs,
                         source_map=g.e.source_map)
        if pspec.provider == "iter":  # loaded with the bpf_iter_<target> BTF id (session)
            from ..uapi import AttachType

            ps.attach_type = AttachType.TRACE_ITER
        starts = g.e.func_starts()
        if starts:
            ps.btf, ps.func_info = _func_btf(name, starts)
        self.script.spec.programs[name] = ps
        self.script.programs.append(ProgramMeta(name, pspec, probe_id))
        if g.frame is None:
            self.scratch_max = max(self.scratch_max, g.scratch_hw)


def _has_for_map(stmts: list[ast.Stmt]) -> bool:
    for s in stmts:
        if isinstance(s, ast.ForMap):
            return True
        for body in (getattr(s, "then", None), getattr(s, "orelse", None),
                     getattr(s, "body", None)):
            if body and _has_for_map(body):
                return True
    return False


def _func_btf(prog: str, callbacks: list[int]) -> tuple[bytes, list[tuple[int, int]]]:
    """BTF and func_info for a program with callbacks: the kernel only accepts a
    BPF_PSEUDO_FUNC address of a subprogram described as a static function."""
    from ..btf.build import BtfBuilder
    from ..btf.format import FUNC_GLOBAL, FUNC_STATIC

    b = BtfBuilder()
    long_t = b.int_type("long", 8, signed=True)
    vptr = b.ptr(0)
    main = b.func(prog, b.func_proto(long_t, [("ctx", vptr)]), FUNC_GLOBAL)
    cb_proto = b.func_proto(long_t, [("map", vptr), ("key", vptr), ("value", vptr),
                                     ("ctx", vptr)])
    info = [(0, main)]
    for i, start in enumerate(callbacks):
        info.append((start, b.func(f"{prog}_cb{i}", cb_proto, FUNC_STATIC)))
    return b.encode(), info


def _attach_to(p: ProbeSpec) -> str:
    if p.provider == "tracepoint":
        return f"{p.target}/{p.func}"
    if p.provider in ("uprobe", "uretprobe", "usdt"):
        where = p.func if p.address is None else hex(p.address)
        return f"{p.target}:{where}" + (f"+{p.offset}" if p.offset else "")
    if p.provider in ("kprobe", "kretprobe"):
        return p.func + (f"+{p.offset}" if p.offset else "")
    if p.provider == "iter":
        return p.target
    return p.name


class ProbeGen:
    """Generates one program: one attach point of one probe block."""

    def __init__(self, cg: Codegen, info: ProbeInfo, pspec: ProbeSpec, probe_id: int,
                 frame: int | None = None, uses_ctx: bool = True) -> None:
        self.cg = cg
        self.frame = frame  # scratch on the stack at fp-frame (None: the per-CPU map)
        self.uses_ctx = uses_ctx
        self.info = info
        self.pspec = pspec
        self.probe_id = probe_id
        self.e = Emitter()
        self.scratch = 0
        self.scratch_hw = 0
        self.stmt_loc: Loc | None = None
        self.stack = 8  # fp-8 holds the scratch map key
        self.stack_hw = 8
        self.vars: dict[str, tuple[str, int, T.Type]] = {}  # name -> ("stack"/"mem", off, type)
        self.loops: list[tuple[int, int]] = []  # (continue label, break label)
        self.exit_label = self.e.label()
        self.callbacks: list[tuple[int, ast.ForMap]] = []  # for-map bodies to emit last
        # a for-map body runs in its own frame: variables then live in scratch, shared
        self.vars_in_scratch = _has_for_map(info.probe.body)
        self.in_callback = False
        self.tracepoint = info.tracepoint
        tp_format = cg.sem.tp_format
        if pspec.provider == "tracepoint" and tp_format is not None and not pspec.wildcard:
            self.tracepoint = tp_format(f"{pspec.target}:{pspec.func}")

    # -- allocation ------------------------------------------------------
    def salloc(self, size: int) -> int:
        """Scratch bytes for a temporary; freed when the current statement ends."""
        off = self.scratch
        self.scratch += (max(size, 8) + 7) & ~7
        self.scratch_hw = max(self.scratch_hw, self.scratch)
        if self.scratch_hw > SCRATCH_LIMIT:
            raise CodegenError(self.stmt_loc, "the probe needs more than 32 KiB of scratch "
                                              "space (per-CPU map values are limited); "
                                              "split it or use smaller strings")
        return off

    def push(self, reg: int = R0) -> int:
        slot = self.slot()
        self.e.stx(8, FP, slot, reg)
        return slot

    def pop(self, reg: int, slot: int) -> None:
        self.e.ldx(8, reg, FP, slot)
        if slot == -self.stack:
            self.stack -= 8

    def slot(self) -> int:
        self.stack += 8
        if self.stack > STACK_LIMIT:
            raise CodegenError(None, "the program needs more than 512 bytes of stack")
        self.stack_hw = max(self.stack_hw, self.stack)
        return -self.stack

    # -- program ---------------------------------------------------------
    def generate(self) -> list[Any]:
        e = self.e
        if self.uses_ctx:
            e.mov(R6, R1)
        if self.frame is not None:
            e.mov(R9, FP)
            e.alu_imm(Alu.ADD, R9, -((self.frame + 7) & ~7))
        else:
            e.st_imm(4, FP, -8, 0)
            e.ld_map(R1, SCRATCH)
            e.mov(R2, FP)
            e.alu_imm(Alu.ADD, R2, -8)
            e.call("map_lookup_elem")
            e.jmp_imm(Jmp.JEQ, R0, 0, self.exit_label)
            e.mov(R9, R0)
        # variables outlive statements, and start zeroed so every path may read them
        for name, vt in self.info.variables.items():
            self.var_slot(name, vt, zero=True)
        pr = self.info.probe
        if pr.pred is not None:
            self.int_expr(pr.pred)
            e.jmp_imm(Jmp.JEQ, R0, 0, self.exit_label)
        self.block(pr.body)
        e.mark(self.exit_label)
        e.mov_imm(R0, 0)
        e.exit()
        while self.callbacks:
            self.for_map_body(*self.callbacks.pop(0))
        return e.resolve()

    def for_map_body(self, label: int, s: ast.ForMap) -> None:
        """The callback of bpf_for_each_map_elem(map, cb, 0, 0): cb(map, key, value, ctx)
        copies the entry into the loop variable and runs the body; returning 1 stops."""
        e = self.e
        meta = self.meta(s.map)
        saved = (self.stack, self.loops, self.exit_label)
        cont, brk = e.label(), e.label()
        self.stack, self.loops, self.exit_label = 8, [(cont, brk)], brk
        self.in_callback = True
        e.mark(label)
        e.mov(R7, R2)
        e.mov(R8, R3)
        e.st_imm(4, FP, -8, 0)
        e.ld_map(R1, SCRATCH)
        e.mov(R2, FP)
        e.alu_imm(Alu.ADD, R2, -8)
        e.call("map_lookup_elem")
        e.jmp_imm(Jmp.JEQ, R0, 0, brk)
        e.mov(R9, R0)
        e.mov_imm(R6, 0)  # no probe context in here
        kind, off, vt = self.var_slot(s.var.name, s.var.type or T.INT64)
        ksize = meta.key_size if meta.keys else 0
        if ksize:
            self.copy(off, R7, ksize)
        vsize = T.storage_size(vt) - ksize
        if meta.percpu:  # count/sum: add every CPU's share, as printing the map does
            e.st_imm(8, R9, off + ksize, 0)
            for cpu in range(_ncpus()):
                skip = e.label()
                e.ld_map(R1, meta.bpf_name)
                e.mov(R2, R7)
                e.mov_imm(R3, cpu)
                e.call("map_lookup_percpu_elem")
                e.jmp_imm(Jmp.JEQ, R0, 0, skip)
                e.ldx(8, R1, R0, 0)
                e.ldx(8, R2, R9, off + ksize)
                e.alu(Alu.ADD, R2, R1)
                e.stx(8, R9, off + ksize, R2)
                e.mark(skip)
        elif vsize > 0:
            self.copy(off + ksize, R8, min(vsize, T.storage_size(meta.value)))
        self.block(s.body)
        e.mark(cont)
        e.mov_imm(R0, 0)
        e.exit()
        e.mark(brk)
        e.mov_imm(R0, 1)
        e.exit()
        self.stack, self.loops, self.exit_label = saved
        self.in_callback = False

    def note(self, node: ast.Node) -> None:
        self.e.source_map[len(self.e.insns)] = SourceLoc(self.cg.diags.filename,
                                                         node.loc.line, node.loc.col)

    # -- statements ------------------------------------------------------
    def branch(self, cond: ast.Expr, then: Callable[[], None],
               orelse: Callable[[], None]) -> None:
        """``cond ? then : orelse`` as code: an if statement and a ternary alike."""
        e = self.e
        other, done = e.label(), e.label()
        self.int_expr(cond)
        e.jmp_imm(Jmp.JEQ, R0, 0, other)
        then()
        e.ja(done)
        e.mark(other)
        orelse()
        e.mark(done)

    def block(self, stmts: list[ast.Stmt]) -> None:
        for s in stmts:
            self.note(s)
            mark = self.scratch
            self.stmt_loc = s.loc
            self.stmt(s)
            self.scratch = mark  # temporaries live for one statement

    def stmt(self, s: ast.Stmt) -> None:
        e = self.e
        if isinstance(s, ast.ExprStmt):
            if s.expr.type is not None and s.expr.type.kind not in T.WORD_KINDS + ("none",):
                self.mem_expr(s.expr, self.salloc(T.storage_size(s.expr.type)))
            else:
                self.int_expr(s.expr)
        elif isinstance(s, ast.AssignMap):
            self.assign_map(s)
        elif isinstance(s, ast.AssignVar):
            self.assign_var(s)
        elif isinstance(s, ast.VarDecl):
            vt = self.info.variables.get(s.var.name, T.INT64)
            self.var_slot(s.var.name, vt, zero=True)
        elif isinstance(s, ast.If):
            self.branch(s.cond, lambda: self.block(s.then), lambda: self.block(s.orelse))
        elif isinstance(s, ast.Unroll):
            n = self.cg.sem._const(s.count) or 0
            for _ in range(n):
                self.block(s.body)
        elif isinstance(s, ast.While):
            top, end = e.label(), e.label()
            e.mark(top)
            self.int_expr(s.cond)
            e.jmp_imm(Jmp.JEQ, R0, 0, end)
            self.loops.append((top, end))
            self.block(s.body)
            self.loops.pop()
            e.ja(top)
            e.mark(end)
        elif isinstance(s, ast.ForRange):
            var = self.var_slot(s.var.name, T.INT64)
            self.int_expr(s.start)
            self.store_var(var)
            self.int_expr(s.end)
            end_slot = self.slot()
            e.stx(8, FP, end_slot, R0)
            top, cont, end = e.label(), e.label(), e.label()
            e.mark(top)
            self.load_var(var)
            e.ldx(8, R1, FP, end_slot)
            e.jmp_reg(Jmp.JSGE, R0, R1, end)
            self.loops.append((cont, end))
            self.block(s.body)
            self.loops.pop()
            e.mark(cont)
            self.load_var(var)
            e.alu_imm(Alu.ADD, R0, 1)
            self.store_var(var)
            e.ja(top)
            e.mark(end)
        elif isinstance(s, ast.ForMap):
            meta = self.meta(s.map)
            if meta.kind not in ("count", "sum") and meta.kind in PERCPU_KINDS:
                raise CodegenError(s.loc, f"pybpf can loop over maps of counts, sums and "
                                          f"plain values, not {meta.kind}()")
            cb = e.label()
            self.callbacks.append((cb, s))
            e.ld_map(R1, meta.bpf_name)
            e.ld_func(R2, cb)
            e.mov_imm(R3, 0)
            e.mov_imm(R4, 0)
            e.call("for_each_map_elem")
        elif isinstance(s, ast.Jump):
            if s.kind == "return":
                e.ja(self.exit_label)
            elif self.loops:
                cont, brk = self.loops[-1]
                e.ja(brk if s.kind == "break" else cont)

    def load_var(self, v: tuple[str, int, T.Type], reg: int = R0) -> None:
        self.e.ldx(8, reg, FP if v[0] == "stack" else R9, v[1])

    def store_var(self, v: tuple[str, int, T.Type], reg: int = R0) -> None:
        self.e.stx(8, FP if v[0] == "stack" else R9, v[1], reg)

    def var_slot(self, name: str, vt: T.Type, zero: bool = False) -> tuple[str, int, T.Type]:
        cur = self.vars.get(name)
        if cur is not None:
            return cur
        final = self.info.variables.get(name, vt)
        if final.kind in T.WORD_KINDS and final.kind != "usym" and not self.vars_in_scratch:
            slot = self.slot()
            if zero:
                self.e.st_imm(8, FP, slot, 0)
            v = ("stack", slot, final)
        else:
            off = self.salloc(T.storage_size(final))
            if zero:
                self.zero(off, T.storage_size(final))
            v = ("mem", off, final)
        self.vars[name] = v
        return v

    def assign_var(self, s: ast.AssignVar) -> None:
        var = self.var_slot(s.var.name, s.expr.type or T.INT64)
        kind, off, vt = var
        if kind == "stack" or vt.kind in T.WORD_KINDS and vt.kind != "usym":
            if s.op is not None:
                self.int_expr(s.expr)
                self.e.mov(R1, R0)
                self.load_var(var)
                self.binop_regs(s.op, vt.signed)
            else:
                self.int_expr(s.expr)
                if s.decl_type is not None:
                    self.truncate(vt)
            self.store_var(var)
        else:
            self.value_into(s.expr, off, vt)

    # -- maps --------------------------------------------------------------
    def meta(self, m: ast.Map) -> Any:
        meta = self.cg.script.maps.get(m.name)
        if meta is None:
            raise CodegenError(m.loc, f"Undefined map: {m.name}")
        return meta

    def build_key(self, meta: MapMeta, keys: list[ast.Expr], extra: bool = False) -> int:
        """Write the key into scratch; returns its offset."""
        off = self.salloc(meta.key_size)
        if not keys:
            self.e.st_imm(8, R9, off, 0)
            return off
        pos = off
        for k, kt in zip(keys, meta.keys, strict=False):
            self.value_into(k, pos, kt)
            pos += T.storage_size(kt)
        return off

    def lookup(self, meta: MapMeta, key_off: int) -> None:
        e = self.e
        e.ld_map(R1, meta.bpf_name)
        e.add_ptr(R2, R9, key_off)
        e.call("map_lookup_elem")

    def update(self, meta: MapMeta, key_off: int, val_off: int, flags: int = 0) -> None:
        e = self.e
        e.ld_map(R1, meta.bpf_name)
        e.add_ptr(R2, R9, key_off)
        e.add_ptr(R3, R9, val_off)
        e.mov_imm(R4, flags)
        e.call("map_update_elem")
        self.map_full_check(meta)

    def map_full_check(self, meta: MapMeta) -> None:
        """After an update: on E2BIG (the map is full) set the map's flag in MAPFULL, which
        the runtime watches; 4 instructions, only on the failing path."""
        e = self.e
        self.cg.script.needs_mapfull = True
        done = e.label()
        e.jmp_imm(Jmp.JNE, R0, -E2BIG, done)
        e.ld_map_value(R1, MAPFULL, 8 * meta.id)
        e.st_imm(8, R1, 0, 1)
        e.mark(done)

    def assign_map(self, s: ast.AssignMap) -> None:
        meta = self.meta(s.map)
        v = s.expr
        if isinstance(v, ast.Call) and v.name in T.AGGREGATES:
            self.aggregate(meta, s.map, v)
            return
        if s.op is not None:
            self.int_expr(v)
            val = self.push()
            key = self.build_key(meta, s.map.keys)
            self.read_int(meta, key)
            self.e.ldx(8, R1, FP, val)
            self.stack -= 8
            self.binop_regs(s.op, True)
            voff = self.salloc(8)
            self.e.stx(8, R9, voff, R0)
            self.update(meta, key, voff)
            return
        voff = self.salloc(meta.value_size)
        self.value_into(v, voff, meta.value)
        key = self.build_key(meta, s.map.keys)
        self.update(meta, key, voff)

    def read_int(self, meta: MapMeta, key: int) -> None:
        """r0 = the map's integer value at key (0 when missing)."""
        e = self.e
        self.lookup(meta, key)
        done = e.label()
        e.jmp_imm(Jmp.JEQ, R0, 0, done)
        e.ldx(8, R0, R0, 0)
        e.mark(done)

    def aggregate(self, meta: MapMeta, m: ast.Map, call: ast.Call) -> None:
        e = self.e
        kind = call.name
        val_slot = None
        if call.args:
            self.int_expr(call.args[0])
            val_slot = self.push()
        key = self.build_key(meta, m.keys)
        if kind in ("hist", "lhist"):
            assert val_slot is not None
            e.ldx(8, R1, FP, val_slot)
            if kind == "hist":
                self.log2_bucket()
            else:
                self.linear_bucket(*meta.lhist)
            e.stx(8, R9, key + meta.key_size - 8, R0)
        miss, done = e.label(), e.label()
        self.lookup(meta, key)
        e.jmp_imm(Jmp.JEQ, R0, 0, miss)
        if val_slot is not None and kind not in ("hist", "lhist"):
            e.ldx(8, R1, FP, val_slot)
        if kind in ("count", "hist", "lhist"):
            e.ldx(8, R2, R0, 0)
            e.alu_imm(Alu.ADD, R2, 1)
            e.stx(8, R0, 0, R2)
        elif kind == "sum":
            e.ldx(8, R2, R0, 0)
            e.alu(Alu.ADD, R2, R1)
            e.stx(8, R0, 0, R2)
        elif kind in ("avg", "stats"):
            e.ldx(8, R2, R0, 0)
            e.alu(Alu.ADD, R2, R1)
            e.stx(8, R0, 0, R2)
            e.ldx(8, R2, R0, 8)
            e.alu_imm(Alu.ADD, R2, 1)
            e.stx(8, R0, 8, R2)
        elif kind in ("min", "max"):
            store = e.label()
            e.ldx(8, R2, R0, 8)
            e.jmp_imm(Jmp.JEQ, R2, 0, store)
            e.ldx(8, R2, R0, 0)
            e.jmp_reg(Jmp.JSGE if kind == "min" else Jmp.JSLE, R1, R2, done)
            e.mark(store)
            e.stx(8, R0, 0, R1)
            e.st_imm(8, R0, 8, 1)
        e.ja(done)
        # a new entry starts at its first value; on a per-CPU map the update sets this
        # CPU's share only, so BPF_ANY is right even if another CPU just made the entry
        e.mark(miss)
        init = self.salloc(meta.value_size)
        if kind in ("count", "hist", "lhist"):
            e.st_imm(8, R9, init, 1)
        else:
            assert val_slot is not None
            e.ldx(8, R1, FP, val_slot)
            e.stx(8, R9, init, R1)
            if meta.value_size > 8:
                e.st_imm(8, R9, init + 8, 1)
        self.update(meta, key, init)
        e.mark(done)
        if val_slot is not None:
            self.stack -= 8

    def log2_bucket(self) -> None:
        """r0 = hist bucket of the signed value in r1: 0 below zero, 1 for 0, log2+2 above."""
        e = self.e
        done = e.label()
        e.mov_imm(R0, 0)
        e.jmp_imm(Jmp.JSLT, R1, 0, done)
        e.mov_imm(R0, 1)
        e.jmp_imm(Jmp.JEQ, R1, 0, done)
        e.mov_imm(R0, 2)
        for shift in (16, 8, 4, 2, 1):  # bpftrace caps at the [2G, 4G) bucket
            skip = e.label()
            e.mov(R2, R1)
            e.alu_imm(Alu.RSH, R2, shift)
            e.jmp_imm(Jmp.JEQ, R2, 0, skip)
            e.mov(R1, R2)
            e.alu_imm(Alu.ADD, R0, shift)
            e.mark(skip)
        e.mark(done)

    def linear_bucket(self, lo: int, hi: int, step: int) -> None:
        """r0 = lhist bucket of the signed value in r1."""
        e = self.e
        below, above, done = e.label(), e.label(), e.label()
        e.mov_imm(R2, lo)
        e.jmp_reg(Jmp.JSLT, R1, R2, below)
        e.mov_imm(R2, hi)
        e.jmp_reg(Jmp.JSGE, R1, R2, above)
        e.mov(R0, R1)
        e.alu_imm(Alu.SUB, R0, lo)
        e.alu_imm(Alu.DIV, R0, step)
        e.alu_imm(Alu.ADD, R0, 1)
        e.ja(done)
        e.mark(below)
        e.mov_imm(R0, 0)
        e.ja(done)
        e.mark(above)
        e.mov_imm(R0, (hi - lo) // step + 1)
        e.mark(done)

    # -- values ------------------------------------------------------------
    def zero(self, off: int, size: int) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.e.st_imm(8, R9, off + i, 0)

    def copy(self, dst: int, src_reg: int, size: int, src_off: int = 0) -> None:
        """scratch[dst:dst+size] = *(src_reg + src_off) (8-byte chunks; size rounded up)."""
        for i in range(0, (size + 7) & ~7, 8):
            self.e.ldx(8, R3, src_reg, src_off + i)
            self.e.stx(8, R9, dst + i, R3)

    def value_into(self, x: ast.Expr, dst: int, slot_type: T.Type) -> None:
        """Write ``x`` at scratch ``dst`` laid out as ``slot_type`` (ints are 8 bytes)."""
        xt = x.type or T.INT64
        if xt.kind == "usym" and slot_type.kind == "usym":
            self.int_expr(x)  # [address][pid]: the pid picks the process to symbolize in
            self.e.stx(8, R9, dst, R0)
            self.e.call("get_current_pid_tgid")
            self.e.alu_imm(Alu.RSH, R0, 32)
            self.e.stx(8, R9, dst + 8, R0)
            return
        if xt.kind in T.WORD_KINDS + ("none",) or slot_type.kind == "int":
            const = self.constant(x)
            if const is not None:
                self.e.st_imm(8, R9, dst, const)
                return
            self.int_expr(x)
            self.e.stx(8, R9, dst, R0)
            return
        size = T.storage_size(slot_type)
        if T.storage_size(xt) < size or xt.kind == "tuple":
            self.zero(dst, size)
        if xt.kind == "tuple" and isinstance(x, ast.Tuple) and slot_type.kind == "tuple":
            pos = dst
            for el, et in zip(x.elems, slot_type.elems, strict=True):
                self.value_into(el, pos, et)
                pos += T.storage_size(et)
            return
        if xt.kind == "tuple" and slot_type.kind == "tuple" and xt != slot_type:
            tmp = self.salloc(T.storage_size(xt))
            self.mem_expr(x, tmp)
            src, pos = tmp, dst
            for st, dt in zip(xt.elems, slot_type.elems, strict=True):
                n = min(T.storage_size(st), T.storage_size(dt))
                self.e.mov(R1, R9)
                self.copy(pos, R1, n, src)
                src += T.storage_size(st)
                pos += T.storage_size(dt)
            return
        self.mem_expr(x, dst, limit=size)

    def mem_expr(self, x: ast.Expr, dst: int, limit: int | None = None) -> None:
        """Write a string/tuple/record value at scratch ``dst``."""
        e = self.e
        xt = x.type or T.INT64
        size = T.storage_size(xt) if limit is None else min(limit, T.storage_size(xt))
        if isinstance(x, ast.String) or (isinstance(x, ast.PositionalParameter) and x.n):
            text = x.value if isinstance(x, ast.String) else self.param(x.n)
            raw = text.encode()[:size - 1] if size else b""
            raw = raw + bytes(((len(raw) + 8) & ~7) - len(raw))
            for i in range(0, min(len(raw), (size + 7) & ~7), 8):
                word = int.from_bytes(raw[i:i + 8], "little")
                lo, hi = word & 0xFFFFFFFF, word >> 32
                e.st_imm(4, R9, dst + i, _s32(lo))
                e.st_imm(4, R9, dst + i + 4, _s32(hi))
            return
        if isinstance(x, ast.Builtin) and x.name == "comm":
            self.zero(dst, size)  # scratch is reused: no stale bytes after the NUL
            e.add_ptr(R1, R9, dst)
            e.mov_imm(R2, min(16, size))
            e.call("get_current_comm")
            return
        if isinstance(x, ast.Call) and x.name in ("strftime", "ntop", "buf", "macaddr"):
            self.zero(dst, size)
            getattr(self, "gen_" + x.name)(x, dst, xt)
            return
        if isinstance(x, ast.Variable):
            kind, off, vt = self.vars[x.name]
            e.mov(R1, R9)
            self.copy(dst, R1, min(size, T.storage_size(vt)), off)
            return
        if isinstance(x, ast.Map):
            meta = self.meta(x)
            key = self.build_key(meta, x.keys)
            self.lookup(meta, key)
            miss, done = e.label(), e.label()
            e.jmp_imm(Jmp.JEQ, R0, 0, miss)
            e.mov(R1, R0)
            self.copy(dst, R1, min(size, meta.value_size))
            e.ja(done)
            e.mark(miss)
            self.zero(dst, size)
            e.mark(done)
            return
        if isinstance(x, ast.Tuple):
            pos = dst
            for el in x.elems:
                et = el.type or T.INT64
                et = T.INT64 if et.kind == "int" else et
                self.value_into(el, pos, et)
                pos += T.storage_size(et)
            return
        if isinstance(x, ast.TupleAccess):
            tt = x.expr.type
            assert tt is not None
            tmp = self.salloc(T.storage_size(tt))
            self.mem_expr(x.expr, tmp)
            off = tmp + sum(T.storage_size(t) for t in tt.elems[:x.index])
            e.mov(R1, R9)
            self.copy(dst, R1, size, off)
            return
        if isinstance(x, ast.Ternary):
            other, done = e.label(), e.label()
            self.int_expr(x.cond)
            e.jmp_imm(Jmp.JEQ, R0, 0, other)
            self.zero(dst, size)
            self.mem_expr(x.left, dst, limit=size)
            e.ja(done)
            e.mark(other)
            self.zero(dst, size)
            self.mem_expr(x.right, dst, limit=size)
            e.mark(done)
            return
        if isinstance(x, ast.Call) and x.name == "str":
            a = x.args[0]
            if isinstance(a, ast.PositionalParameter) and a.n:
                self.zero(dst, size)
                lit = ast.String(a.loc, self.param(a.n))
                lit.type = T.string(len(lit.value.encode()) + 1)
                self.mem_expr(lit, dst, limit=size)
                return
            if a.type is not None and a.type.kind == "string":
                self.mem_expr(a, dst, limit=size)
                return
            n = size
            self.zero(dst, size)
            if len(x.args) == 2:
                self.int_expr(x.args[1])
                e.alu_imm(Alu.ADD, R0, 1)
                lim = self.push()
            self.int_expr(a)
            e.mov(R3, R0)
            e.add_ptr(R1, R9, dst)
            e.mov_imm(R2, n)
            if len(x.args) == 2:
                clamp = e.label()
                e.ldx(8, R4, FP, lim)
                e.jmp_reg(Jmp.JGE, R4, R2, clamp)
                e.mov(R2, R4)
                e.mark(clamp)
                self.stack -= 8
            e.call("probe_read_str")
            return
        if isinstance(x, ast.FieldAccess) and self.is_args(x.expr):
            f = self.tp_field(x)
            if f is not None and f.is_string:
                self.zero(dst, size)
                if f.data_loc:
                    e.ldx(4, R3, R6, f.offset)
                    e.alu_imm(Alu.AND, R3, 0xFFFF)
                    e.alu(Alu.ADD, R3, R6)
                    e.add_ptr(R1, R9, dst)
                    e.mov_imm(R2, size)
                    e.call("probe_read_kernel_str")
                else:
                    e.add_ptr(R1, R9, dst)
                    e.mov_imm(R2, min(size, f.size))
                    e.add_ptr(R3, R6, f.offset)
                    e.call("probe_read_kernel")
                return
        if isinstance(x, ast.Call) and x.name in ("ksym", "usym"):
            self.value_into(x, dst, xt)
            return
        if xt.kind in ("record", "array") and (
                isinstance(x, ast.FieldAccess) and not self.is_args(x.expr)
                or isinstance(x, ast.Unop) and x.op == "*"):
            self.cg.script.btf = self.cg.sem.btf  # laid out again when printed
            if isinstance(x, ast.FieldAccess):
                self.field_addr(x)
            else:
                self.int_expr(x.expr)
            e.mov(R3, R0)
            e.add_ptr(R1, R9, dst)
            e.mov_imm(R2, min(size, xt.size))
            e.call("probe_read_kernel")
            return
        if isinstance(x, ast.FieldAccess) and xt.kind == "string":
            self.zero(dst, size)
            self.field_addr(x)
            e.mov(R3, R0)
            e.add_ptr(R1, R9, dst)
            e.mov_imm(R2, min(size, xt.size))
            e.call("probe_read_kernel_str")
            return
        raise CodegenError(x.loc, f"pybpf cannot generate code for this expression of "
                                  f"type '{xt}' yet")

    def bytes_addr(self, x: ast.Expr) -> None:
        """r0 = the address of ``x``'s bytes: an array member, or a pointer's value."""
        xt = x.type or T.INT64
        if isinstance(x, ast.FieldAccess) and self.is_args(x.expr):
            f = self.tp_field(x)
            if f is None:
                raise CodegenError(x.loc, f"Can't find a field {x.field}")
            if xt.kind in ("array", "string") and not getattr(f, "data_loc", False):
                self.e.add_ptr(R0, R6, f.offset)
                return
        elif isinstance(x, ast.FieldAccess) and xt.kind in ("array", "string"):
            self.field_addr(x)
            return
        self.int_expr(x)

    def read_bytes(self, x: ast.Expr, dst: int, n: int) -> None:
        """scratch[dst:dst+n] = the first ``n`` bytes of ``x`` (zeros if unreadable)."""
        xt = x.type or T.INT64
        if xt.kind == "string" and not isinstance(x, ast.FieldAccess):
            tmp = self.salloc(T.storage_size(xt))  # a string value: its bytes, NUL padded
            self.mem_expr(x, tmp)
            self.e.mov(R1, R9)
            self.copy(dst, R1, min(n, T.storage_size(xt)), tmp)
            return
        self.bytes_addr(x)
        self.e.mov(R3, R0)
        self.e.add_ptr(R1, R9, dst)
        self.e.mov_imm(R2, n)
        self.e.call("probe_read")

    def gen_strftime(self, x: ast.Call, dst: int, t: T.Type) -> None:
        """[format id][nsecs]: formatted at print time against the boot time."""
        fmt = x.args[0]
        assert isinstance(fmt, ast.String)
        script = self.cg.script
        fid = len(script.formats)
        script.formats.append(FormatMeta("strftime", fmt.value, []))
        self.int_expr(x.args[1])
        self.e.stx(8, R9, dst + 8, R0)
        self.e.st_imm(8, R9, dst, fid)

    def gen_ntop(self, x: ast.Call, dst: int, t: T.Type) -> None:
        """[address family][16 address bytes], as inet_ntop wants them."""
        addr = x.args[-1]
        at = addr.type or T.INT64
        if len(x.args) == 2:
            self.int_expr(x.args[0])
            self.e.stx(8, R9, dst, R0)
        else:
            self.e.st_imm(8, R9, dst, 10 if at.kind != "int" and at.size == 16 else 2)
        if at.kind in ("array", "string"):
            self.read_bytes(addr, dst + 8, min(at.size, 16))
        else:
            self.int_expr(addr)
            self.e.stx(8, R9, dst + 8, R0)

    def gen_buf(self, x: ast.Call, dst: int, t: T.Type) -> None:
        """[length][bytes]: at most the type's capacity, a runtime length clamped to it."""
        e = self.e
        cap = t.size - 8
        const = self.cg.sem._const(x.args[1]) if len(x.args) == 2 else cap
        if const is not None:
            n = min(const, cap) if const > 0 else cap
            self.read_bytes(x.args[0], dst + 8, n)
            e.st_imm(8, R9, dst, n)
            return
        self.int_expr(x.args[1])
        lim = self.push()
        self.bytes_addr(x.args[0])
        e.mov(R3, R0)
        e.ldx(8, R2, FP, lim)
        self.stack -= 8
        ok = e.label()
        e.jmp_imm(Jmp.JLE, R2, cap, ok)
        e.mov_imm(R2, cap)
        e.mark(ok)
        e.stx(8, R9, dst, R2)
        e.add_ptr(R1, R9, dst + 8)
        e.call("probe_read")

    def gen_macaddr(self, x: ast.Call, dst: int, t: T.Type) -> None:
        self.read_bytes(x.args[0], dst, 6)

    def constant(self, x: ast.Expr) -> int | None:
        """The value of ``x`` if known now and storable as a sign-extended imm32."""
        if isinstance(x, ast.Integer):
            v = x.value
        elif isinstance(x, ast.Builtin) and x.name == "probe":
            v = self.probe_id
        else:
            return None
        return v if -(1 << 31) <= v < (1 << 31) else None

    def is_args(self, x: ast.Expr) -> bool:
        return isinstance(x, ast.Builtin) and x.name == "args"

    def tp_field(self, x: ast.FieldAccess) -> Any:
        if self.in_callback:
            raise CodegenError(x.loc, "pybpf cannot read 'args' inside a for loop over a map "
                                      "(the loop body has no probe context): copy the field "
                                      "to a variable before the loop")
        fmt = self.tracepoint
        if fmt is None:
            return None
        for f in fmt.fields:
            if f.name == x.field:
                return f
        if len(self.info.specs) > 1:
            raise SkipProgram(x.field)
        return None

    def param(self, n: int) -> str:
        ps = self.cg.sem.params
        return ps[n - 1] if 0 < n <= len(ps) else ""

    # -- integer expressions -------------------------------------------------
    def int_expr(self, x: ast.Expr) -> None:
        """r0 = the value of ``x``."""
        e = self.e
        if isinstance(x, ast.Integer):
            e.mov_imm(R0, x.value)
        elif isinstance(x, ast.PositionalParameter):
            if x.n == 0:
                e.mov_imm(R0, len(self.cg.sem.params))
            else:
                try:
                    e.mov_imm(R0, int(self.param(x.n), 0))
                except ValueError:
                    e.mov_imm(R0, 0)
        elif isinstance(x, ast.Builtin):
            self.builtin(x)
        elif isinstance(x, ast.Variable):
            v = self.vars.get(x.name)
            if v is None:
                v = self.var_slot(x.name, x.type or T.INT64, zero=True)
            kind, off, _ = v
            if kind == "stack":
                e.ldx(8, R0, FP, off)
            else:
                e.ldx(8, R0, R9, off)
        elif isinstance(x, ast.Map):
            meta = self.meta(x)
            key = self.build_key(meta, x.keys)
            self.read_int(meta, key)
            if meta.kind in ("avg",):
                pass
        elif isinstance(x, ast.Binop):
            self.binop(x)
        elif isinstance(x, ast.Unop):
            self.unop(x)
        elif isinstance(x, ast.Ternary):
            self.branch(x.cond, lambda: self.int_expr(x.left), lambda: self.int_expr(x.right))
        elif isinstance(x, ast.Cast):
            self.int_expr(x.expr)
            if x.type is not None and x.type.kind == "int":
                self.truncate(x.type)
        elif isinstance(x, ast.TupleAccess):
            tt = x.expr.type
            assert tt is not None
            tmp = self.salloc(T.storage_size(tt))
            self.mem_expr(x.expr, tmp)
            e.ldx(8, R0, R9, tmp + sum(T.storage_size(t) for t in tt.elems[:x.index]))
        elif isinstance(x, ast.FieldAccess) and self.is_args(x.expr):
            f = self.tp_field(x)
            if f is None:
                raise CodegenError(x.loc, f"Can't find a field {x.field}")
            size = f.size if f.size in (1, 2, 4, 8) else 8
            e.ldx(size, R0, R6, f.offset)
            if field_signed(f) and size < 8:
                e.alu_imm(Alu.LSH, R0, 64 - 8 * size)
                e.alu_imm(Alu.ARSH, R0, 64 - 8 * size)
        elif isinstance(x, ast.FieldAccess):
            t = x.type or T.INT64
            if t.kind not in ("int", "pointer"):
                raise CodegenError(x.loc, f"reading a whole '{t}' is not supported by pybpf yet")
            if self.read_bitfield(x):
                return
            self.field_addr(x)
            e.mov(R3, R0)
            slot = self.slot()
            e.mov(R1, FP)
            e.alu_imm(Alu.ADD, R1, slot)
            e.mov_imm(R2, t.size)
            # user or kernel memory (a syscall's struct argument is user memory): x86-64's
            # bpf_probe_read reads both, as bpftrace 0.17's field reads do
            e.call("probe_read")
            e.ldx(t.size, R0, FP, slot)
            self.stack -= 8
            if t.signed and t.size < 8:
                self.truncate(t)
        elif isinstance(x, ast.ArrayAccess):
            bt = x.expr.type or T.INT64
            elem = x.type or T.UINT64
            size = elem.size if elem.kind == "int" and elem.size in (1, 2, 4, 8) else 8
            if bt.kind == "array" and isinstance(x.expr, ast.FieldAccess):
                self.field_addr(x.expr)
            else:
                self.int_expr(x.expr)
            base = self.push()
            self.int_expr(x.index)
            e.alu_imm(Alu.MUL, R0, size)
            e.ldx(8, R3, FP, base)
            e.alu(Alu.ADD, R3, R0)
            e.mov(R1, FP)
            e.alu_imm(Alu.ADD, R1, base)
            e.mov_imm(R2, size)
            e.call("probe_read")
            e.ldx(size, R0, FP, base)
            self.stack -= 8
            if elem.kind == "int" and elem.signed and size < 8:
                self.truncate(elem)
        elif isinstance(x, ast.Offsetof):
            from .btftypes import member

            btf, total = self.cg.sem.btf, 0
            name = x.of.name if isinstance(x.of, ast.TypeSpec) else ""
            for f in x.fields:
                m = member(btf, name, f) if btf is not None else None
                if m is None:
                    raise CodegenError(x.loc, f"offsetof(): no field '{f}' in '{name}'")
                total += m[1]
                name = m[0].name
            e.mov_imm(R0, total)
        elif isinstance(x, ast.Sizeof):
            of = x.of
            if isinstance(of, ast.TypeSpec) and not of.pointer and of.name.startswith(
                    ("struct ", "union ")):
                from .btftypes import sizeof

                btf = self.cg.sem.btf
                size = sizeof(btf, of.name) if btf is not None else None
                if size is None:
                    raise CodegenError(x.loc, f"Unknown struct/union: '{of.name}'")
                e.mov_imm(R0, size)
            elif isinstance(of, ast.TypeSpec):
                t = self.cg.sem.typespec(of)
                e.mov_imm(R0, t.size if t.kind == "int" else 8)
            else:
                e.mov_imm(R0, T.storage_size(of.type or T.INT64)
                          if (of.type and of.type.kind != "int") else (of.type.size if of.type
                                                                      else 8))
        elif isinstance(x, ast.Call):
            self.call(x)
        else:
            raise CodegenError(x.loc, "pybpf cannot generate code for this expression yet")

    def read_bitfield(self, x: ast.FieldAccess) -> bool:
        """r0 = a bitfield member (read the bytes holding it, shift, mask); False if
        ``x`` is not a bitfield."""
        from .btftypes import bitfield

        bt, btf = x.expr.type, self.cg.sem.btf
        bf = bitfield(btf, bt.name, x.field) if (btf is not None and bt is not None) else None
        if bf is None:
            return False
        _, shift, bits = bf
        nbytes = next(n for n in (1, 2, 4, 8) if n * 8 >= shift + bits)
        e = self.e
        self.field_addr(x)  # the byte holding the first bit
        e.mov(R3, R0)
        self.read_at_r3(nbytes, "probe_read_kernel")
        if shift:
            e.alu_imm(Alu.RSH, R0, shift)
        if bits < 64:
            e.alu_imm(Alu.AND, R0, (1 << bits) - 1) if bits < 32 else self.truncate_bits(bits)
        return True

    def truncate_bits(self, bits: int) -> None:
        self.e.alu_imm(Alu.LSH, R0, 64 - bits)
        self.e.alu_imm(Alu.RSH, R0, 64 - bits)

    def field_addr(self, x: ast.FieldAccess) -> None:
        """r0 = the kernel address of struct member ``x`` (following ``->`` pointers)."""
        from .btftypes import member

        base = x.expr
        bt = base.type
        btf = self.cg.sem.btf
        m = member(btf, bt.name, x.field) if (btf is not None and bt is not None) else None
        if bt is None or m is None:
            raise CodegenError(x.loc, f"cannot resolve field '{x.field}' (no BTF type)")
        if bt.kind == "pointer":
            self.int_expr(base)
        elif bt.kind == "record" and isinstance(base, ast.FieldAccess):
            self.field_addr(base)
        else:
            raise CodegenError(x.loc, "pybpf can only follow struct members from a pointer")
        if m[1]:
            self.e.alu_imm(Alu.ADD, R0, m[1])

    def truncate(self, t: T.Type) -> None:
        if t.size >= 8:
            return
        bits = 64 - 8 * t.size
        self.e.alu_imm(Alu.LSH, R0, bits)
        self.e.alu_imm(Alu.ARSH if t.signed else Alu.RSH, R0, bits)

    def builtin(self, x: ast.Builtin) -> None:
        e = self.e
        n = x.name
        if self.in_callback and (n in ("ctx", "args", "retval", "func", "kstack", "ustack")
                                 or n.startswith(("arg", "sarg"))):
            raise CodegenError(x.loc, f"pybpf cannot use '{n}' inside a for loop over a map "
                                      "(the loop body has no probe context): copy it to a "
                                      "variable before the loop")
        if n in ("pid", "tid"):
            e.call("get_current_pid_tgid")
            if n == "pid":
                e.alu_imm(Alu.RSH, R0, 32)
            else:
                e.mov32(R0, R0)
        elif n in ("uid", "gid"):
            e.call("get_current_uid_gid")
            if n == "gid":
                e.alu_imm(Alu.RSH, R0, 32)
            else:
                e.mov32(R0, R0)
        elif n == "nsecs":
            e.call("ktime_get_ns")
        elif n == "elapsed":
            self.cg.script.needs_globals = True
            e.call("ktime_get_ns")
            slot = self.push()
            e.st_imm(4, FP, -8, 0)
            e.ld_map(R1, GLOBALS)
            e.mov(R2, FP)
            e.alu_imm(Alu.ADD, R2, -8)
            e.call("map_lookup_elem")
            miss = e.label()
            e.mov_imm(R1, 0)
            e.jmp_imm(Jmp.JEQ, R0, 0, miss)
            e.ldx(8, R1, R0, 0)
            e.mark(miss)
            self.pop(R0, slot)
            e.alu(Alu.SUB, R0, R1)
        elif n == "cpu":
            e.call("get_smp_processor_id")
        elif n == "rand":
            e.call("get_prandom_u32")
        elif n == "cgroup":
            e.call("get_current_cgroup_id")
        elif n == "numaid":
            e.call("get_numa_node_id")
        elif n == "jiffies":
            e.call("jiffies64")
        elif n == "curtask":
            e.call("get_current_task")
        elif n == "ctx":
            e.mov(R0, R6)
        elif n == "probe":
            e.mov_imm(R0, self.probe_id)
        elif n.startswith(("arg", "sarg")) and n[-1].isdigit():
            i = int(n[-1])
            if n.startswith("sarg"):  # on the stack above the return address: sp + 8(i+1)
                e.ldx(8, R3, R6, PT_REGS_SP)
                e.alu_imm(Alu.ADD, R3, 8 * (i + 1))
                slot = self.slot()
                e.st_imm(8, FP, slot, 0)
                e.mov(R1, FP)
                e.alu_imm(Alu.ADD, R1, slot)
                e.mov_imm(R2, 8)
                e.call("probe_read")
                e.ldx(8, R0, FP, slot)
                self.stack -= 8
                return
            if self.pspec.provider == "usdt":  # argN is the note's operand, not a register
                self.usdt_arg(i, x.loc)
                return
            if self.pspec.provider == "rawtracepoint":  # ctx is u64 args[] of the tracepoint
                e.ldx(8, R0, R6, 8 * i)
                return
            if i >= len(PT_REGS_ARGS):
                raise CodegenError(x.loc, f"{n} is not available on x86-64 (6 register args)")
            e.ldx(8, R0, R6, PT_REGS_ARGS[i])
        elif n == "retval":
            e.ldx(8, R0, R6, PT_REGS_RET)
        elif n == "func":
            e.ldx(8, R0, R6, PT_REGS_IP)
        elif n == "ncpus":
            e.mov_imm(R0, _ncpus())
        elif n == "cpid":  # the child's pid is only known at run time: read from a map
            self.cg.script.needs_cpid = True
            e.st_imm(4, FP, -8, 0)
            e.ld_map(R1, CPID)
            e.mov(R2, FP)
            e.alu_imm(Alu.ADD, R2, -8)
            e.call("map_lookup_elem")
            miss = e.label()
            e.jmp_imm(Jmp.JEQ, R0, 0, miss)
            e.ldx(8, R0, R0, 0)
            e.mark(miss)
        elif n == "username":
            e.call("get_current_uid_gid")  # the name is looked up when printed
            e.mov32(R0, R0)
        elif n in ("kstack", "ustack"):
            self.stack_id(x.type or T.stack(n))
        else:
            raise CodegenError(x.loc, f"the {n} builtin is not supported by pybpf yet")

    def usdt_arg(self, i: int, loc: Loc | None) -> None:
        """r0 = argument i of the USDT probe, as its note's ``size@operand`` describes it
        (a constant, a register, memory at reg+disp(+index*scale), or a %rip-relative
        global), sign/zero-extended. When the probe's locations place the argument
        differently, the attach cookie (the location's index, set by ``attach_usdt``)
        picks the layout at run time, as libbpf's USDT spec ids do."""
        from ..symbols.usdt import find_probes

        p = self.pspec
        try:
            probes = find_probes(p.target, p.ns or "*", p.func)
        except Exception as exc:  # noqa: BLE001 - any unreadable binary is a user error here
            raise CodegenError(loc, f"usdt:{p.target}: cannot read its USDT notes: {exc}") from exc
        if not probes:
            raise CodegenError(loc, f"{p.name}: no such USDT probe")
        groups: dict[tuple[Any, ...], list[int]] = {}  # layout -> location indexes
        for k, probe in enumerate(probes):
            args = probe.args
            if i >= len(args):
                raise CodegenError(loc, f"arg{i}: {p.name} has only {len(args)} arguments"
                                        + (f" at {probe.pc:#x}" if len(probes) > 1 else ""))
            groups.setdefault(self._usdt_layout(args[i], probe, i, loc), []).append(k)
        layouts = list(groups.items())
        if len(layouts) == 1:
            self._usdt_read(layouts[0][0])
            return
        e = self.e
        e.mov(R1, R6)
        e.call("get_attach_cookie")
        done = e.label()
        for layout, where in layouts[:-1]:
            this, other = e.label(), e.label()
            for k in where:
                e.jmp_imm(Jmp.JEQ, R0, k, this)
            e.ja(other)
            e.mark(this)
            self._usdt_read(layout)
            e.ja(done)
            e.mark(other)
        self._usdt_read(layouts[-1][0])
        e.mark(done)

    def _usdt_layout(self, a: Any, probe: Any, i: int, loc: Loc | None) -> tuple[Any, ...]:
        """How to read one location's argument, as a hashable plan. A %rip-relative operand
        becomes its distance from the probe site: the uprobe's ``ip`` is the site's run-time
        address, whatever address the binary was mapped at."""
        if a.kind == "const":
            return ("const", a.offset)
        if a.symbol:
            from ..symbols.elf import open_elf

            sym = open_elf(probe.path).symbol(a.symbol)
            if sym is None:
                raise CodegenError(loc, f"arg{i} of {self.pspec.name} reads global "
                                        f"{a.symbol!r}, which {probe.path} has no symbol for "
                                        "(a stripped binary?)")
            return ("rip", a.size, a.signed, sym.value + a.offset - probe.pc)
        return (a.kind, a.size, a.signed, a.reg, a.offset, a.index_reg, a.scale)

    def _usdt_read(self, plan: tuple[Any, ...]) -> None:
        from ..symbols.usdt import PT_REGS_X86_64

        e = self.e
        kind = plan[0]
        if kind == "const":
            e.mov_imm(R0, plan[1])
            return
        size, signed = plan[1], plan[2]
        if kind == "reg":
            e.ldx(8, R0, R6, PT_REGS_X86_64[plan[3]])
        else:
            if kind == "rip":
                e.ldx(8, R3, R6, PT_REGS_X86_64["ip"])
                delta = plan[3]
            else:
                _, _, _, reg, delta, index_reg, scale = plan
                e.ldx(8, R3, R6, PT_REGS_X86_64[reg])
                if index_reg:
                    e.ldx(8, R1, R6, PT_REGS_X86_64[index_reg])
                    if scale > 1:
                        e.alu_imm(Alu.MUL, R1, scale)
                    e.alu(Alu.ADD, R3, R1)
            if -(1 << 31) <= delta < 1 << 31:
                if delta:
                    e.alu_imm(Alu.ADD, R3, delta)
            else:
                e.mov_imm(R1, delta)
                e.alu(Alu.ADD, R3, R1)
            self.read_at_r3(size, "probe_read_user")
        self.truncate(T.Type("int", size, signed))

    def read_at_r3(self, nbytes: int, helper: str) -> None:
        """r0 = ``nbytes`` read by ``helper`` from the address in r3, zero-extended (through
        a zeroed stack slot, so a failed read gives 0)."""
        e = self.e
        slot = self.slot()
        e.st_imm(8, FP, slot, 0)
        e.mov(R1, FP)
        e.alu_imm(Alu.ADD, R1, slot)
        e.mov_imm(R2, nbytes)
        e.call(helper)
        e.ldx(8, R0, FP, slot)
        self.stack -= 8

    def stack_id(self, t: T.Type) -> None:
        """r0 = the stack id of the current kernel/user stack; for ustack the pid is in the
        upper half (user addresses only mean something in their process, as bpftrace)."""
        e = self.e
        if self.in_callback:
            raise CodegenError(None, f"pybpf cannot take a {t.kind} inside a for loop over a "
                                     "map (the loop body has no probe context)")
        _, limit = T.stack_params(t)
        e.mov(R1, R6)
        e.ld_map(R2, self.cg.stack_map(limit))
        e.mov_imm(R3, 256 if t.kind == "ustack" else 0)  # BPF_F_USER_STACK
        e.call("get_stackid")
        if t.kind == "ustack":
            slot = self.push()
            e.call("get_current_pid_tgid")
            e.alu_imm(Alu.RSH, R0, 32)
            e.alu_imm(Alu.LSH, R0, 32)
            e.ldx(8, R1, FP, slot)
            self.stack -= 8
            e.mov32(R1, R1)
            e.alu(Alu.OR, R0, R1)

    def binop(self, x: ast.Binop) -> None:
        e = self.e
        lt, rt = x.left.type or T.INT64, x.right.type or T.INT64
        if lt.kind == "string" and rt.kind == "string":
            self.string_compare(x)
            return
        if x.op in ("&&", "||"):
            false_l, true_l, done = e.label(), e.label(), e.label()
            self.int_expr(x.left)
            if x.op == "&&":
                e.jmp_imm(Jmp.JEQ, R0, 0, false_l)
            else:
                e.jmp_imm(Jmp.JNE, R0, 0, true_l)
            self.int_expr(x.right)
            e.jmp_imm(Jmp.JEQ, R0, 0, false_l)
            e.mark(true_l)
            e.mov_imm(R0, 1)
            e.ja(done)
            e.mark(false_l)
            e.mov_imm(R0, 0)
            e.mark(done)
            return
        self.int_expr(x.left)
        slot = self.push()
        self.int_expr(x.right)
        e.mov(R1, R0)
        self.pop(R0, slot)
        self.binop_regs(x.op, lt.signed or rt.signed)

    def binop_regs(self, op: str, signed: bool) -> None:
        """r0 = r0 <op> r1."""
        e = self.e
        alu = {"+": Alu.ADD, "-": Alu.SUB, "*": Alu.MUL, "&": Alu.AND, "|": Alu.OR,
               "^": Alu.XOR, "<<": Alu.LSH}
        if op in alu:
            e.alu(alu[op], R0, R1)
            return
        if op == ">>":  # bpftrace shifts right logically, signed or not
            e.alu(Alu.RSH, R0, R1)
            return
        if op in ("/", "%"):
            ok = e.label()
            done = e.label()
            e.jmp_imm(Jmp.JNE, R1, 0, ok)
            e.mov_imm(R0, 0)
            e.ja(done)
            e.mark(ok)
            e.alu(Alu.DIV if op == "/" else Alu.MOD, R0, R1)
            e.mark(done)
            return
        cmp = {"==": Jmp.JEQ, "!=": Jmp.JNE,
               "<": Jmp.JSLT if signed else Jmp.JLT, ">": Jmp.JSGT if signed else Jmp.JGT,
               "<=": Jmp.JSLE if signed else Jmp.JLE, ">=": Jmp.JSGE if signed else Jmp.JGE}
        true_l = e.label()
        e.mov(R2, R0)
        e.mov_imm(R0, 1)
        e.jmp_reg(cmp[op], R2, R1, true_l)
        e.mov_imm(R0, 0)
        e.mark(true_l)

    def string_compare(self, x: ast.Binop) -> None:
        e = self.e
        lt, rt = x.left.type, x.right.type
        assert lt is not None and rt is not None
        a = self.salloc(T.storage_size(lt))
        b = self.salloc(T.storage_size(rt))
        self.mem_expr(x.left, a)
        self.mem_expr(x.right, b)
        n = min(lt.size, rt.size)
        differ, same, done = e.label(), e.label(), e.label()
        for i in range(n):
            e.ldx(1, R1, R9, a + i)
            e.ldx(1, R2, R9, b + i)
            e.jmp_reg(Jmp.JNE, R1, R2, differ)
            e.jmp_imm(Jmp.JEQ, R1, 0, same)
        if lt.size != rt.size:
            # the longer string must end where the shorter one does
            longer = a if lt.size > rt.size else b
            e.ldx(1, R1, R9, longer + n)
            e.jmp_imm(Jmp.JNE, R1, 0, differ)
        e.mark(same)
        e.mov_imm(R0, 1 if x.op == "==" else 0)
        e.ja(done)
        e.mark(differ)
        e.mov_imm(R0, 0 if x.op == "==" else 1)
        e.mark(done)

    def unop(self, x: ast.Unop) -> None:
        e = self.e
        if x.op in ("++", "--"):
            delta = 1 if x.op == "++" else -1
            target = x.expr
            if isinstance(target, ast.Variable):
                var = self.var_slot(target.name, T.INT64)
                self.load_var(var)
                e.mov(R1, R0)
                e.alu_imm(Alu.ADD, R1, delta)
                self.store_var(var, R1)
                if not x.postfix:
                    e.mov(R0, R1)
                return
            if isinstance(target, ast.Map):
                meta = self.meta(target)
                key = self.build_key(meta, target.keys)
                self.read_int(meta, key)
                slot = self.push()
                e.alu_imm(Alu.ADD, R0, delta)
                val = self.salloc(8)
                e.stx(8, R9, val, R0)
                self.update(meta, key, val)
                self.pop(R0, slot)
                if not x.postfix:
                    e.alu_imm(Alu.ADD, R0, delta)
                return
            raise CodegenError(x.loc, f"The {x.op} operator must be applied to a map or "
                                      "variable")
        self.int_expr(x.expr)
        if x.op == "-":
            e.neg(R0)
        elif x.op == "~":
            e.alu_imm(Alu.XOR, R0, -1)
        elif x.op == "!":
            t = e.label()
            e.mov(R1, R0)
            e.mov_imm(R0, 1)
            e.jmp_imm(Jmp.JEQ, R1, 0, t)
            e.mov_imm(R0, 0)
            e.mark(t)
        elif x.op == "*":
            slot = self.slot()
            e.mov(R3, R0)
            e.mov(R1, FP)
            e.alu_imm(Alu.ADD, R1, slot)
            e.mov_imm(R2, 8)
            e.call("probe_read_kernel")
            e.ldx(8, R0, FP, slot)
        else:
            raise CodegenError(x.loc, f"the unary operator '{x.op}' is not supported by "
                                      "pybpf yet")

    # -- calls -------------------------------------------------------------
    def emit_record(self, off: int, size: int) -> None:
        e = self.e
        e.ld_map(R1, RINGBUF)
        e.add_ptr(R2, R9, off)
        e.mov_imm(R3, size)
        e.mov_imm(R4, 0)
        e.call("ringbuf_output")
        # a full ring drops the record: count it in LOST (the runtime's "Lost N events")
        self.cg.script.needs_lost = True
        ok = e.label()
        e.jmp_imm(Jmp.JEQ, R0, 0, ok)
        e.ld_map_value(R1, LOST)
        e.mov_imm(R2, 1)
        e.atomic_add(R1, 0, R2)
        e.mark(ok)

    def call(self, x: ast.Call) -> None:
        e = self.e
        n = x.name
        script = self.cg.script
        if n in ("printf", "system", "cat", "debugf"):
            kind = {"debugf": "printf"}.get(n, n)
            fmt = x.args[0]
            assert isinstance(fmt, ast.String)
            types = [T.INT64 if (a.type is None or a.type.kind == "int") else a.type
                     for a in x.args[1:]]
            fid = len(script.formats)
            script.formats.append(FormatMeta(kind, fmt.value, types))
            ev = {"printf": EV_PRINTF, "system": EV_SYSTEM, "cat": EV_CAT}[kind]
            size = 16 + sum(T.storage_size(t) for t in types)
            rec = self.salloc(size)
            pos = rec + 16
            for a, t in zip(x.args[1:], types, strict=True):
                self.value_into(a, pos, t)
                pos += T.storage_size(t)
            e.st_imm(8, R9, rec, ev)
            e.st_imm(8, R9, rec + 8, fid)
            self.emit_record(rec, size)
            e.mov_imm(R0, 0)
        elif n == "time":
            first = x.args[0] if x.args else None
            tfmt = first.value if isinstance(first, ast.String) else "%H:%M:%S\n"
            fid = len(script.formats)
            script.formats.append(FormatMeta("time", tfmt, []))
            rec = self.salloc(16)
            e.st_imm(8, R9, rec, EV_TIME)
            e.st_imm(8, R9, rec + 8, fid)
            self.emit_record(rec, 16)
        elif n == "join":
            sep = x.args[1].value if len(x.args) == 2 and isinstance(x.args[1], ast.String) \
                else " "
            fid = len(script.formats)
            script.formats.append(FormatMeta("join", sep, []))
            size = 24 + JOIN_ARGS * JOIN_LEN
            rec = self.salloc(size)
            self.int_expr(x.args[0])
            arr = self.push()
            e.st_imm(8, R9, rec, EV_JOIN)
            e.st_imm(8, R9, rec + 8, fid)
            e.st_imm(8, R9, rec + 16, 0)
            done = e.label()
            for i in range(JOIN_ARGS):
                # the i-th pointer of the NULL-terminated array, then its string
                slot = self.slot()
                e.ldx(8, R3, FP, arr)
                e.alu_imm(Alu.ADD, R3, 8 * i)
                e.mov(R1, FP)
                e.alu_imm(Alu.ADD, R1, slot)
                e.mov_imm(R2, 8)
                e.call("probe_read")
                e.ldx(8, R3, FP, slot)
                self.stack -= 8
                e.jmp_imm(Jmp.JEQ, R3, 0, done)
                e.add_ptr(R1, R9, rec + 24 + i * JOIN_LEN)
                e.mov_imm(R2, JOIN_LEN)
                e.call("probe_read_str")
                e.st_imm(8, R9, rec + 16, i + 1)
            e.mark(done)
            self.stack -= 8
            self.emit_record(rec, size)
        elif n == "exit":
            rec = self.salloc(8)
            e.st_imm(8, R9, rec, EV_EXIT)
            self.emit_record(rec, 8)
            e.ja(self.exit_label)
        elif n == "print":
            a = x.args[0]
            if isinstance(a, ast.Map) and not a.keys:
                meta = self.meta(a)
                rec = self.salloc(32)
                e.st_imm(8, R9, rec, EV_PRINT_MAP)
                e.st_imm(8, R9, rec + 8, meta.id)
                for i, extra in enumerate(x.args[1:3]):
                    self.int_expr(extra)
                    e.stx(8, R9, rec + 16 + 8 * i, R0)
                for i in range(len(x.args) - 1, 2):
                    e.st_imm(8, R9, rec + 16 + 8 * i, 0 if i == 0 else 1)
                self.emit_record(rec, 32)
            else:
                t = a.type or T.INT64
                t = T.INT64 if t.kind == "int" else t
                pid = len(script.prints)
                script.prints.append(t)
                size = 16 + T.storage_size(t)
                rec = self.salloc(size)
                self.value_into(a, rec + 16, t)
                e.st_imm(8, R9, rec, EV_PRINT_VALUE)
                e.st_imm(8, R9, rec + 8, pid)
                self.emit_record(rec, size)
        elif n in ("clear", "zero"):
            a = x.args[0]
            assert isinstance(a, ast.Map)
            meta = self.meta(a)
            rec = self.salloc(16)
            e.st_imm(8, R9, rec, EV_CLEAR if n == "clear" else EV_ZERO)
            e.st_imm(8, R9, rec + 8, meta.id)
            self.emit_record(rec, 16)
        elif n in ("delete", "has_key"):
            a = x.args[0]
            assert isinstance(a, ast.Map)
            meta = self.meta(a)
            keys = a.keys if len(x.args) == 1 else [x.args[1]]
            if len(x.args) == 2 and isinstance(x.args[1], ast.Tuple) and len(meta.keys) > 1:
                keys = list(x.args[1].elems)
            key = self.build_key(meta, keys)
            e.ld_map(R1, meta.bpf_name)
            e.add_ptr(R2, R9, key)
            if n == "delete":
                e.call("map_delete_elem")
            else:
                e.call("map_lookup_elem")
                yes = e.label()
                e.mov(R1, R0)
                e.mov_imm(R0, 1)
                e.jmp_imm(Jmp.JNE, R1, 0, yes)
                e.mov_imm(R0, 0)
                e.mark(yes)
        elif n in ("kaddr", "uaddr", "cgroupid"):
            arg = x.args[0]
            assert isinstance(arg, ast.String)
            e.mov_imm(R0, compile_time_address(n, arg.value, self.pspec))
        elif n in ("strftime", "ntop", "buf", "macaddr"):
            t = x.type or T.INT64
            self.mem_expr(x, self.salloc(T.storage_size(t)))
        elif n in ("ksym", "usym", "kptr", "uptr"):
            self.int_expr(x.args[0])
        elif n == "reg":
            arg = x.args[0]
            assert isinstance(arg, ast.String)
            e.ldx(8, R0, R6, PT_REGS[arg.value])
        elif n in ("kstack", "ustack"):
            self.stack_id(x.type or T.stack(n))
        elif n == "bswap":
            self.int_expr(x.args[0])
            from ..asm.insn import Insn
            from ..asm.opcodes import END_TO_BE, Class

            size = (x.args[0].type.size if x.args[0].type else 8) * 8
            e.emit(Insn(Class.ALU | Alu.END | END_TO_BE, R0, 0, 0, size))
        elif n == "strncmp":
            a, b = x.args[0], x.args[1]
            cnt = self.cg.sem._const(x.args[2]) or 0
            at, bt = a.type or T.string(8), b.type or T.string(8)
            ao, bo = self.salloc(T.storage_size(at)), self.salloc(T.storage_size(bt))
            self.mem_expr(a, ao)
            self.mem_expr(b, bo)
            differ, done = e.label(), e.label()
            for i in range(min(cnt, at.size, bt.size)):
                e.ldx(1, R1, R9, ao + i)
                e.ldx(1, R2, R9, bo + i)
                e.jmp_reg(Jmp.JNE, R1, R2, differ)
                e.jmp_imm(Jmp.JEQ, R1, 0, done)
            e.mov_imm(R0, 0)
            e.ja(done)
            e.mark(differ)
            e.mov_imm(R0, 1)
            e.mark(done)
            fix = e.label()
            e.jmp_imm(Jmp.JEQ, R0, 1, fix)
            e.mov_imm(R0, 0)
            e.mark(fix)
        elif n == "signal":
            self.int_expr(x.args[0])
            e.mov(R1, R0)
            e.call("send_signal")
        elif n == "override":
            self.int_expr(x.args[0])
            e.mov(R2, R0)
            e.mov(R1, R6)
            e.call("override_return")
        else:
            raise CodegenError(x.loc, f"{n}() is not supported by pybpf's code generator yet")


def compile_time_address(kind: str, name: str, probe: ProbeSpec) -> int:
    """kaddr/uaddr/cgroupid resolve when the script is compiled, as bpftrace does."""
    import os

    if kind == "cgroupid":
        try:
            return os.stat(name).st_ino  # a cgroup v2 directory's inode is its id
        except OSError as err:
            raise CodegenError(None, f"Failed to compile: Failed to get `cgroupid` for path: "
                                     f'"{name}": {err.strerror}') from None
    if kind == "kaddr":
        from ..symbols import kallsyms

        try:
            addr = kallsyms().address(name)
        except OSError:
            addr = None
        if not addr:
            raise CodegenError(None, f"Failed to compile: Failed to resolve kernel symbol: "
                                     f"{name}")
        return addr
    from ..errors import PybpfError
    from ..symbols import open_elf, resolve_binary

    try:
        elf = open_elf(resolve_binary(probe.target))
        sym = next((s for s in elf.symbols  # global variables only (STT_OBJECT), as bpftrace
                    if s.name == name and s.value and s.type == 1), None)
    except (PybpfError, OSError):
        sym = None
    if sym is None:
        raise CodegenError(None, f"Could not resolve symbol: {probe.target}:{name}")
    return int(sym.value)


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _ncpus() -> int:
    import os

    return os.cpu_count() or 1


def compile_script(source: str, filename: str = "stdin", *, unsafe: bool = False,
                   params: list[str] | None = None,
                   tracepoint_format: Callable[[str], Any] | None | str = "tracefs",
                   expand: Callable[[ProbeSpec], list[ProbeSpec]] | None = None,
                   child: bool | None = None) -> CompiledScript:
    """Parse, check and generate code for ``source``; raises ``CompileError``.

    ``tracepoint_format(name)`` gives the format of tracepoint ``cat:name`` (an object
    with ``fields`` like ``pybpf.kernel.tracefs.Format``); by default tracefs is read.
    ``expand(spec)`` turns a wildcard probe into the concrete probes it matches (one
    program each, as bpftrace does); without it wildcards stay as written.
    ``child``: whether a ``-c`` command will run (False makes ``cpid`` an error, as in
    bpftrace; None leaves it unchecked).
    """
    from .parser import parse

    if tracepoint_format == "tracefs":
        from ..kernel.tracefs import tracepoint_format as tracefs_format

        tracepoint_format = tracefs_format
    diags = Diagnostics(filename, source)
    program = parse(source, filename)
    sem = Semantic(program, diags, unsafe=unsafe, params=params,
                   tracepoint_format=tracepoint_format,  # type: ignore[arg-type]
                   expand=expand, child=child)
    sem.run()
    try:
        return Codegen(sem, diags).run()
    except CodegenError as e:
        raise diags.fail(e.loc, str(e)) from None


__all__ = ["CompiledScript", "MapInfo", "compile_script"]
