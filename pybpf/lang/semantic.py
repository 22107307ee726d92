"""Semantic analysis: infer every expression's type and reject bad scripts, in bpftrace's words.

The pass runs twice over the program: the first silently learns map types (a map
may be read in a probe written before the one that assigns it), the second
checks and reports. Results: ``MapInfo`` per map, variable types per probe, and
the printf-style formats codegen and the runtime share.
"""

from __future__ import annotations

import re

from .._record import dataclass, field
from . import ast
from . import types as T
from .errors import Diagnostics, Loc
from .probes import ProbeError, ProbeSpec, parse_probe

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# name -> (min args, max args or None, unsafe, must be assigned to a map)
CALLS: dict[str, tuple[int, int | None, bool, bool]] = {
    "count": (0, 0, False, True), "sum": (1, 1, False, True), "min": (1, 1, False, True),
    "max": (1, 1, False, True), "avg": (1, 1, False, True), "stats": (1, 1, False, True),
    "hist": (1, 1, False, True), "lhist": (4, 4, False, True),
    "delete": (1, 2, False, False), "clear": (1, 1, False, False),
    "zero": (1, 1, False, False), "print": (1, 3, False, False),
    "printf": (1, None, False, False), "exit": (0, 0, False, False),
    "str": (1, 2, False, False), "system": (1, None, True, False),
    "cat": (1, None, False, False), "time": (0, 1, False, False),
    "strftime": (2, 2, False, False), "ksym": (1, 1, False, False),
    "usym": (1, 1, False, False), "kaddr": (1, 1, False, False),
    "uaddr": (1, 1, False, False), "ntop": (1, 2, False, False), "join": (1, 2, False, False),
    "signal": (1, 1, True, False), "override": (1, 1, True, False),
    "strncmp": (3, 3, False, False), "has_key": (2, 2, False, False),
    "len": (1, 1, False, False), "cgroupid": (1, 1, False, False), "buf": (1, 2, False, False),
    "macaddr": (1, 1, False, False), "kptr": (1, 1, False, False),
    "uptr": (1, 1, False, False), "reg": (1, 1, False, False), "path": (1, 1, False, False),
    "bswap": (1, 1, False, False), "strerror": (1, 1, False, False),
    "kstack": (0, 2, False, False), "ustack": (0, 2, False, False),
    "strcontains": (2, 2, False, False), "debugf": (1, None, False, False),
}
_KNOWN = {"bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "string", "inet", "buffer", "void", "min_t", "max_t", "sum_t", "count_t", "avg_t",
          "stats_t", "umin_t", "umax_t", "usum_t", "ucount_t", "uavg_t", "ustats_t",
          "timestamp", "macaddr_t", "cgroup_path_t", "strerror_t"}
_STRINGISH = {"string", "ksym", "usym", "probe", "inet", "timestamp", "kstack", "ustack",
              "buffer", "macaddr", "username"}
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}

BUILTIN_TYPES: dict[str, T.Type] = {
    "pid": T.UINT64, "tid": T.UINT64, "uid": T.UINT64, "gid": T.UINT64,
    "nsecs": T.UINT64, "elapsed": T.UINT64, "numaid": T.UINT64, "cpu": T.UINT64,
    "curtask": T.UINT64, "rand": T.UINT32, "ctx": T.UINT64, "comm": T.COMM,
    "retval": T.INT64, "func": T.Type("ksym"), "probe": T.PROBE,
    "username": T.Type("username"), "cgroup": T.UINT64, "cpid": T.UINT64, "jiffies": T.UINT64,
    "usermode": T.UINT64, "ncpus": T.UINT64, "kstack": T.stack("kstack"),
    "ustack": T.stack("ustack"),
    **{f"arg{i}": T.UINT64 for i in range(10)}, **{f"sarg{i}": T.INT64 for i in range(10)},
}

_FMT_RE = re.compile(r"%(?P<flags>[- #0]*)(?P<width>\d+|\*)?(?:\.(?P<prec>\d+))?"
                     r"(?P<len>hh|h|ll|l|z|j|t)?(?P<conv>[diouxXcspSrfegEG%])")


@dataclass(slots=True)
class FormatSpec:
    """One conversion in a printf format: the text before it plus the conversion itself."""

    conv: str
    spec: str  # the whole "%-5lld"


def parse_format(fmt: str) -> list[FormatSpec]:
    out = []
    for m in _FMT_RE.finditer(fmt):
        if m.group("conv") != "%":
            out.append(FormatSpec(m.group("conv"), m.group()))
    return out


@dataclass(slots=True)
class MapInfo:
    name: str
    keys: list[T.Type] | None = None
    value: T.Type | None = None
    lhist: tuple[int, int, int] = (0, 0, 0)  # min, max, step
    hist_bits: int = 0
    used_as_key_less: bool = False
    loc: Loc | None = None


@dataclass(slots=True)
class ProbeInfo:
    probe: ast.Probe
    specs: list[ProbeSpec]
    variables: dict[str, T.Type] = field(default_factory=dict)
    tracepoint: Any = None  # the Format of its (first) tracepoint, for args
    formats: list[Any] | None = None  # every tracepoint's Format (wildcard expansions)


def _no_match(p: ProbeSpec, raw: str) -> str:
    """bpftrace 0.17's error for a wildcard attach point that matches nothing."""
    if p.provider == "tracepoint":
        return f"tracepoints not found: {p.target}:{p.func}"
    return f"No probes matched: {raw}"


class Semantic:
    def __init__(self, program: ast.Program, diags: Diagnostics, *, unsafe: bool = False,
                 params: list[str] | None = None,
                 tracepoint_format: Callable[[str], Any] | None = None,
                 expand: Callable[[ProbeSpec], list[ProbeSpec]] | None = None,
                 btf: Any = "vmlinux", child: bool | None = None) -> None:
        self.prog = program
        self.child = child  # a -c command will run (None: unknown, cpid is not checked)
        self.diags = diags
        self.unsafe = unsafe
        self.params = params or []
        self.tp_format = tracepoint_format
        self.expand = expand
        self._btf = btf
        self.maps: dict[str, MapInfo] = {}
        self.probes: list[ProbeInfo] = []
        self.report = False
        self.loops = 0
        self.cur: ProbeInfo | None = None

    @property
    def btf(self) -> Any:
        """Kernel BTF, loaded on first use (None when unavailable or disabled)."""
        if isinstance(self._btf, str):
            try:
                from ..btf import vmlinux

                self._btf = vmlinux()
            except Exception:  # noqa: BLE001 - no BTF: struct types are unknown
                self._btf = None
        return self._btf

    # -- driver ----------------------------------------------------------
    def run(self) -> None:
        for pr in self.prog.probes:
            specs = []
            for ap in pr.attach_points:
                try:
                    ap.probe = parse_probe(ap.raw)
                except ProbeError as e:
                    self.diags.error(ap.loc, str(e))
                    continue
                if self.expand is not None and ap.probe.wildcard:
                    found = self.expand(ap.probe)
                    if not found:
                        self.diags.error(ap.loc, _no_match(ap.probe, ap.raw))
                    specs.extend(found)
                else:
                    specs.append(ap.probe)
            self.probes.append(ProbeInfo(pr, specs))
        self.diags.check()
        for final in (False, True):
            self.report = final
            for info in self.probes:
                self.cur = info
                info.variables = {}
                self._probe(info)
        self.diags.check()

    def err(self, loc: Loc | None, msg: str) -> None:
        if self.report:
            self.diags.error(loc, msg)

    def _probe(self, info: ProbeInfo) -> None:
        if info.tracepoint is None:
            tps = [s for s in info.specs if s.provider == "tracepoint"]
            if tps and self.tp_format is not None and not tps[0].wildcard:
                try:
                    info.tracepoint = self.tp_format(f"{tps[0].target}:{tps[0].func}")
                except Exception as e:  # noqa: BLE001 - reported as a script error
                    self.err(info.probe.attach_points[0].loc, str(e))
        if info.probe.pred is not None:
            t = self.expr(info.probe.pred)
            if t.kind not in ("int", "pointer", "none"):
                self.err(info.probe.pred.loc, "Invalid type for predicate: " + str(t))
        self.block(info.probe.body)

    # -- statements ------------------------------------------------------
    def block(self, stmts: list[ast.Stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.ExprStmt):
            e = s.expr
            if isinstance(e, ast.Call) and CALLS.get(e.name, (0, 0, False, False))[3]:
                self.expr(e)
                self.err(e.loc, f"{e.name}() should be directly assigned to a map")
                return
            self.expr(e)
        elif isinstance(s, ast.AssignMap):
            self.assign_map(s)
        elif isinstance(s, ast.AssignVar):
            self.assign_var(s)
        elif isinstance(s, ast.VarDecl):
            assert self.cur is not None
            if s.decl_type is not None:
                self.cur.variables[s.var.name] = self.typespec(s.decl_type)
        elif isinstance(s, ast.If):
            ct = self.expr(s.cond)
            if ct.kind not in ("int", "pointer", "none") and not ct.is_aggregate:
                # bpftrace 0.17 reports this one without a location
                self.err(Loc(1, 1, 1, 1), f"Invalid condition in if(): {ct.kind}")
            self.block(s.then)
            self.block(s.orelse)
        elif isinstance(s, ast.Unroll):
            self.expr(s.count)
            n = self._const(s.count)
            if n is None:
                self.err(s.count.loc, "unroll count must be a constant")
            elif n > 100:
                self.err(s.loc, "unroll maximum value is 100")
            elif n < 1:
                self.err(s.loc, "unroll minimum value is 1")
            self.block(s.body)
        elif isinstance(s, ast.While):
            self.expr(s.cond)
            self.loops += 1
            self.block(s.body)
            self.loops -= 1
        elif isinstance(s, ast.ForRange):
            for e in (s.start, s.end):
                t = self.expr(e)
                if t.kind != "int":
                    self.err(e.loc, f"Loop range requires an integer, got {t}")
            assert self.cur is not None
            self.cur.variables[s.var.name] = T.INT64
            s.var.type = T.INT64
            self.loops += 1
            self.block(s.body)
            self.loops -= 1
        elif isinstance(s, ast.ForMap):
            info = self.maps.get(s.map.name)
            if info is None or info.value is None:
                self.err(s.map.loc, f"Undefined map: {s.map.name}")
                kt = T.tuple_of([T.INT64, T.INT64])
            else:
                ks = info.keys or []
                key = ks[0] if len(ks) == 1 else T.tuple_of(ks)
                val = info.value if not info.value.is_aggregate else T.INT64
                kt = T.tuple_of([key, val])
            assert self.cur is not None
            self.cur.variables[s.var.name] = kt
            s.var.type = kt
            s.map.type = info.value if info else None
            self.loops += 1
            self.block(s.body)
            self.loops -= 1
        elif isinstance(s, ast.Jump):
            if s.kind in ("break", "continue") and not self.loops:
                self.err(s.loc, f"{s.kind} used outside of a loop")
            if s.expr is not None:
                self.expr(s.expr)

    def _const(self, e: ast.Expr) -> int | None:
        if isinstance(e, ast.Integer):
            return e.value
        if isinstance(e, ast.PositionalParameter):
            if e.n == 0:
                return len(self.params)
            p = self.params[e.n - 1] if e.n <= len(self.params) else ""
            try:
                return int(p, 0)
            except ValueError:
                return 0
        return None

    def typespec(self, ts: ast.TypeSpec, loc: Loc | None = None) -> T.Type:
        if ts.name in ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
                       "int32", "int64") and ts.pointer:
            return T.Type("int", 8, False)
        if ts.pointer or ts.name.startswith(("struct ", "union ")) or ts.name not in _KNOWN:
            from .btftypes import struct_id

            btf = self.btf
            if btf is None or struct_id(btf, ts.name) is None:
                self.err(loc, f"Unknown struct/union: '{ts.name}'")
            return T.Type("pointer" if ts.pointer else "record", 8, False, (), ts.name)
        if ts.name in ("string",):
            return T.string(ts.size or T.STRLEN)
        if ts.name in ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
                       "int32", "int64"):
            return T.int_type(ts.name)
        return T.Type(ts.name)

    def map_keys(self, m: ast.Map) -> list[T.Type]:
        out = []
        for k in m.keys:
            t = self.expr(k)
            if t.kind == "int":
                t = T.Type("int", 8, t.signed and not (isinstance(k, ast.Integer) and k.value >= 0))
            out.append(t)
        return out

    def check_keys(self, m: ast.Map, keys: list[T.Type], loc: Loc) -> MapInfo:
        info = self.maps.setdefault(m.name, MapInfo(m.name, loc=m.loc))
        if info.keys is None:
            info.keys = keys
        elif len(info.keys) != len(keys) or not all(
                T.compatible(a, b) for a, b in zip(info.keys, keys, strict=False)):
            have = ", ".join(str(k) for k in keys)
            want = ", ".join(str(k) for k in info.keys)
            self.err(loc, f"Argument mismatch for {m.name}: trying to access with arguments: "
                          f"[{have}] when map expects arguments: [{want}]")
        else:
            info.keys = [T.merge(a, b) for a, b in zip(info.keys, keys, strict=True)]
        return info

    def assign_map(self, s: ast.AssignMap) -> None:
        keys = self.map_keys(s.map)
        info = self.check_keys(s.map, keys, s.map.loc)
        e = s.expr
        if isinstance(e, ast.Call) and e.name in T.AGGREGATES:
            vt = self.expr(e)
            if e.name == "lhist" and len(e.args) == 4:
                vals = [self._const(a) for a in e.args[1:]]
                bad = next((a for a, v in zip(e.args[1:], vals, strict=True) if v is None), None)
                if bad is not None:
                    have = ("none" if isinstance(bad, ast.Variable) and self.cur is not None
                            and bad.name not in self.cur.variables
                            else (bad.type.category if bad.type else "none"))
                    self.err(e.loc, f"lhist() expects a integer literal ({have} provided)")
                else:
                    lo, hi, step = (int(v or 0) for v in vals)
                    if step < 1:
                        self.err(e.loc, f"lhist() step must be >= 1 ({step} provided)")
                    elif lo < 0:
                        self.err(e.loc, f"lhist() min must be non-negative (provided min {lo})")
                    else:
                        if lo > hi:
                            self.err(e.loc, "lhist() min must be less than max (provided min "
                                            f"{lo} and max {hi})")
                        if hi - lo < step:
                            self.err(e.loc, "lhist() step is too large for the given range "
                                            f"(provided step {step} for range {hi - lo})")
                    info.lhist = (lo, hi, max(step, 1))
            if e.name == "hist" and len(e.args) == 2:
                info.hist_bits = self._const(e.args[1]) or 0
        else:
            vt = self.expr(e)
            if vt.kind in ("count", "sum", "min", "max"):
                vt = T.INT64
            if s.op is not None:
                if vt.kind != "int":
                    self.err(s.loc, f"Type mismatch for {s.map.name}: cannot use '{s.op}=' "
                                    f"with a value of type '{vt}'")
                vt = T.INT64
            if vt.kind == "none":
                self.err(e.loc, f"{_call_name(e)}() should not be used in an assignment or "
                                "as a map key")
                return
        if (info.value is not None and info.value.kind == "tuple" and vt.kind == "tuple"
                and not T.compatible(info.value, vt)):
            self.err(s.op_loc or s.loc, f"Tuple type mismatch: {info.value} != {vt}.")
            return
        self._set_map_value(s.map, info, vt, s.map.loc)
        s.map.type = info.value

    def _set_map_value(self, m: ast.Map, info: MapInfo, vt: T.Type, loc: Loc) -> None:
        if info.value is None:
            info.value = vt
        elif not T.compatible(info.value, vt):
            self.err(loc, f"Type mismatch for {m.name}: trying to assign value of type "
                          f"'{vt}' when map already contains a value of type '{info.value}")
        else:
            info.value = T.merge(info.value, vt)

    def assign_var(self, s: ast.AssignVar) -> None:
        assert self.cur is not None
        vt = self.expr(s.expr)
        if s.decl_type is not None:
            vt = self.typespec(s.decl_type)
        if vt.kind == "none":
            self.err(s.expr.loc, f"{_call_name(s.expr)}() should not be used in an assignment "
                                 "or as a map key")
            return
        if vt.is_aggregate:
            vt = T.INT64 if vt.kind not in ("avg", "stats", "hist", "lhist") else vt
        cur = self.cur.variables.get(s.var.name)
        if s.op is not None:
            if cur is None:
                self.err(s.var.loc, f"Undefined or undeclared variable: {s.var.name}")
                return
            vt = cur
        if cur is None:
            self.cur.variables[s.var.name] = vt
        elif not T.compatible(cur, vt):
            self.err(s.op_loc or s.loc,
                     f"Type mismatch for {s.var.name}: trying to assign value of type '{vt}' "
                     f"when variable already contains a value of type '{cur}'")
        else:
            self.cur.variables[s.var.name] = T.merge(cur, vt)
        s.var.type = self.cur.variables.get(s.var.name, vt)

    # -- expressions -----------------------------------------------------
    def expr(self, e: ast.Expr) -> T.Type:
        t = self._expr(e)
        e.type = t
        return t

    def _expr(self, e: ast.Expr) -> T.Type:
        if isinstance(e, ast.Integer):
            return T.INT64
        if isinstance(e, ast.String):
            return T.string(len(e.value.encode()) + 1)
        if isinstance(e, ast.Builtin):
            return self.builtin(e)
        if isinstance(e, ast.Identifier):
            self.err(e.loc, f"Unknown identifier: '{e.name}'")
            return T.INT64
        if isinstance(e, ast.PositionalParameter):
            if e.n == 0:
                return T.INT64
            p = self.params[e.n - 1] if e.n <= len(self.params) else ""
            try:
                int(p, 0)
                return T.INT64
            except ValueError:
                return T.string(len(p.encode()) + 1) if p else T.INT64
        if isinstance(e, ast.Map):
            keys = self.map_keys(e)
            info = self.maps.get(e.name)
            if info is None or info.value is None:
                self.err(e.loc, f"Undefined map: {e.name}")
                return T.INT64
            self.check_keys(e, keys, e.loc)
            return info.value  # an aggregate stays one (bpftrace 0.17 rejects arithmetic)
        if isinstance(e, ast.Variable):
            assert self.cur is not None
            vt = self.cur.variables.get(e.name)
            if vt is None:
                self.err(e.loc, f"Undefined or undeclared variable: {e.name}")
                return T.INT64
            return vt
        if isinstance(e, ast.Binop):
            return self.binop(e)
        if isinstance(e, ast.Unop):
            t = self.expr(e.expr)
            if e.op in ("++", "--") and not isinstance(e.expr, ast.Map | ast.Variable):
                self.err(e.loc, f"The {e.op} operator must be applied to a map or variable")
            if e.op in ("++", "--") and isinstance(e.expr, ast.Map):
                info = self.maps.setdefault(e.expr.name, MapInfo(e.expr.name, loc=e.loc))
                if info.keys is None:
                    info.keys = self.map_keys(e.expr)
                if info.value is None:
                    info.value = T.INT64
                e.expr.type = T.INT64
                return T.INT64
            if t.kind not in ("int", "pointer"):
                loc = e.loc if e.postfix or e.op_loc is None else e.op_loc
                self.err(loc, f"The {e.op} operator can not be used on expressions of type "
                              f"'{t}'")
            return T.INT64 if e.op != "!" else T.UINT64
        if isinstance(e, ast.Ternary):
            self.expr(e.cond)
            lt, rt = self.expr(e.left), self.expr(e.right)
            if lt.category != rt.category:
                self.err(e.loc, "Ternary operator must return the same type: have "
                                f"'{lt.category}' and '{rt.category}'")
            return T.merge(lt, rt)
        if isinstance(e, ast.Tuple):
            return T.tuple_of([self._tuple_elem(x) for x in e.elems])
        if isinstance(e, ast.TupleAccess):
            t = self.expr(e.expr)
            if t.kind != "tuple":
                self.err(e.loc, f"Can not access index {e.index} on expression of type '{t}'")
                return T.INT64
            if e.index >= len(t.elems):
                self.err(e.loc, f"Invalid tuple index: {e.index}. Found {len(t.elems)} "
                                "elements in tuple.")
                return T.INT64
            return t.elems[e.index]
        if isinstance(e, ast.FieldAccess):
            return self.field_access(e)
        if isinstance(e, ast.ArrayAccess):
            bt = self.expr(e.expr)
            it = self.expr(e.index)
            if it.kind != "int":
                self.err(e.index.loc, f"The array index operator [] can only be used with an "
                                      f"integer index, not '{it}'")
            if bt.kind in ("array", "pointer") and bt.elems:
                return bt.elems[0]
            if bt.kind not in ("pointer", "array"):
                self.err(e.loc, "The array index operator [] can only be used on arrays and "
                                f"pointers, found {bt.category}.")
            return T.UINT64
        if isinstance(e, ast.Cast):
            self.expr(e.expr)
            return self.typespec(e.to, e.type_loc or e.loc)
        if isinstance(e, ast.Sizeof | ast.Offsetof):
            if isinstance(e.of, ast.Expr):
                self.expr(e.of)
            elif e.of.name.startswith(("struct ", "union ")) and not e.of.pointer:
                self.typespec(e.of, e.loc)
                if isinstance(e, ast.Offsetof) and self.btf is not None:
                    from .btftypes import member

                    name = e.of.name
                    for f in e.fields:
                        m = member(self.btf, name, f)
                        if m is None:
                            self.err(e.loc, f"'{name}' has no field named '{f}'")
                            break
                        name = m[0].name
            return T.UINT64
        if isinstance(e, ast.Call):
            return self.call(e)
        return T.INT64

    def _tuple_elem(self, x: ast.Expr) -> T.Type:
        t = self.expr(x)
        return T.INT64 if t.kind == "int" else t

    def builtin(self, e: ast.Builtin) -> T.Type:
        if e.name == "cpid" and self.child is False:
            self.err(e.loc, "cpid cannot be used without child command")
        if e.name == "args":
            assert self.cur is not None
            bad = [s.provider for s in self.cur.specs
                   if s.provider not in ("tracepoint", "fentry", "fexit", "uprobe")]
            if bad:
                used = "special" if bad[0] in ("BEGIN", "END") else bad[0]
                self.err(e.loc, "The args builtin can only be used with tracepoint/kfunc/uprobe"
                                f"probes ({used} used here)")
            return T.Type("record", 8, False, (), "args")
        if e.name in ("retval",):
            assert self.cur is not None
            kinds = {s.provider for s in self.cur.specs}
            if not kinds & {"kretprobe", "uretprobe", "fexit"}:
                self.err(e.loc, "The retval builtin can only be used with 'kretprobe' and "
                                "'uretprobe' and 'kfunc' probes")
        if e.name.startswith("sarg") and self.cur is not None:
            bad = [s.provider for s in self.cur.specs
                   if s.provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe")]
            if bad:
                self.err(e.loc, f"The {e.name} builtin can only be used with 'kprobes' and "
                                "'uprobes' probes")
        if e.name == "func" and self.cur is not None and self.cur.specs and all(
                s.provider in ("uprobe", "uretprobe") for s in self.cur.specs):
            return T.Type("usym")  # a user address: symbolized in the probed process
        if e.name == "ctx" and self.cur is not None and self.cur.specs and self.btf is not None \
                and all(s.provider == "iter" for s in self.cur.specs):
            return T.Type("pointer", 8, False, (), f"struct bpf_iter__{self.cur.specs[0].target}")
        if e.name == "curtask" and self.btf is not None:
            return T.Type("pointer", 8, False, (), "struct task_struct")
        return BUILTIN_TYPES[e.name]

    def formats_of(self, info: ProbeInfo) -> list[Any]:
        """Formats of every tracepoint the probe attaches to, read once."""
        if info.formats is None:
            info.formats = []
            if self.tp_format is not None:
                for s in info.specs:
                    if s.provider == "tracepoint" and not s.wildcard:
                        try:
                            info.formats.append(self.tp_format(f"{s.target}:{s.func}"))
                        except Exception:  # noqa: BLE001 - reported for the first probe
                            continue
        return info.formats

    def field_access(self, e: ast.FieldAccess) -> T.Type:
        t = self.expr(e.expr)
        if t.kind == "record" and t.name == "args":
            assert self.cur is not None
            fmts = self.formats_of(self.cur)
            if not fmts:
                return T.INT64
            for fmt in fmts:  # expansions without the field get no program (codegen)
                for f in fmt.fields:
                    if f.name == e.field:
                        return tp_field_type(f)
            self.err(e.loc, f"Can't find a field {e.field}")
            return T.INT64
        if t.kind in ("record", "pointer") and self.btf is not None:
            from .btftypes import member

            m = member(self.btf, t.name, e.field)
            if m is None:
                self.err(e.loc, f"Struct/union of type '{t.name}' does not contain a field "
                                f"named '{e.field}'")
                return T.INT64
            if m[2]:  # read as an unsigned integer wide enough for the bits
                return T.Type("int", 8 if m[2] > 32 else 4 if m[2] > 16 else
                              2 if m[2] > 8 else 1, False)
            return m[0]
        if t.kind in ("record", "pointer"):
            return T.INT64
        self.err(e.loc, f"Can not access field '{e.field}' on expression of type '{t}'")
        return T.INT64

    def binop(self, e: ast.Binop) -> T.Type:
        lt, rt = self.expr(e.left), self.expr(e.right)
        if (lt.kind == "string" and rt.kind == "string") or (
                lt.kind == "tuple" and rt.kind == "tuple" and T.compatible(lt, rt)):
            if e.op not in ("==", "!="):
                self.err(e.op_loc or e.loc, f"The {e.op} operator can not be used on "
                                            f"expressions of types {lt}, {rt}")
            return T.UINT64
        if not (lt.is_int or lt.kind == "probe") or not (rt.is_int or rt.kind == "probe"):
            self.err(e.loc, f"Type mismatch for '{e.op}': comparing '{lt}' with '{rt}'")
            return T.INT64
        if e.op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
            return T.UINT64
        return Type64(lt.signed or rt.signed)

    # -- calls -----------------------------------------------------------
    def call(self, e: ast.Call) -> T.Type:
        spec = CALLS.get(e.name)
        if spec is None:
            self.err(e.name_loc or e.loc, f"Unknown function: {e.name}")
            for a in e.args:
                self.expr(a)
            return T.INT64
        lo, hi, unsafe, _ = spec
        n = len(e.args)
        if unsafe and not self.unsafe:
            self.err(e.loc, f"{e.name}() is an unsafe function being used in safe mode")
        if n < lo or (hi is not None and n > hi):
            self.err(e.loc, _arg_count_msg(e.name, lo, hi, n))
        if e.name in ("delete", "clear", "zero", "print", "has_key", "len") and e.args:
            return self.map_call(e)
        if e.name in ("kstack", "ustack"):
            return self.stack_call(e)
        arg_types = [self.expr(a) for a in e.args]
        name = e.name
        if name in ("printf", "system", "cat", "debugf"):
            self.check_format(e, arg_types)
            return T.NONE
        if name in T.AGGREGATES:
            if name != "count" and arg_types and arg_types[0].kind != "int":
                self.err(e.loc, f"{name}() only supports integer arguments "
                                f"({arg_types[0].category} provided)")
            return T.Type(name, T.storage_size(T.Type(name)))
        if name == "str":
            if (e.args and isinstance(e.args[0], ast.FieldAccess)
                    and arg_types[0].kind == "string"):
                return arg_types[0]  # str(args.name) of a __data_loc string field
            if e.args and isinstance(e.args[0], ast.PositionalParameter):
                return arg_types[0] if arg_types[0].kind == "string" else T.string(T.STRLEN)
            if arg_types and arg_types[0].kind not in ("int", "pointer"):
                self.err(e.loc, "str() expects an integer or a pointer type as first "
                                f"argument ({arg_types[0]} provided)")
                return T.string(T.STRLEN)
            limit = self._const(e.args[1]) if n == 2 else None
            return T.string(min(limit, T.STRLEN) if limit else T.STRLEN)
        if name == "signal" and self.cur is not None:
            for sp in self.cur.specs:
                if sp.provider in ("BEGIN", "END"):
                    self.err(e.loc, f'signal can not be used with "{sp.provider}" probes')
        if name == "time" and e.args and not isinstance(e.args[0], ast.String):
            self.err(e.loc, f"time() expects a string literal ({arg_types[0].category} "
                            "provided)")
        if name in ("exit", "time", "signal", "override", "unwatch"):
            return T.NONE
        if name in ("ksym", "usym"):
            return T.Type(name)
        if name == "join":
            if arg_types and arg_types[0].kind not in ("int", "pointer"):
                self.err(e.loc, "join() expects an integer or a pointer type as first "
                                f"argument ({arg_types[0]} provided)")
            if len(e.args) == 2 and not isinstance(e.args[1], ast.String):
                self.err(e.loc, "join() expects a string literal as second argument")
            return T.NONE
        if name == "reg":
            self.check_reg(e)
            return T.UINT64
        if name in ("kptr", "uptr"):
            return arg_types[0] if arg_types else T.UINT64
        if name in ("kaddr", "uaddr", "cgroupid", "strftime") and e.args and not isinstance(
                e.args[0], ast.String):
            self.err(e.loc, f"{name}() expects a string literal "
                            f"({arg_types[0].category} provided)")
        if name == "uaddr" and self.cur is not None:
            for sp in self.cur.specs:
                if sp.provider not in ("uprobe", "uretprobe", "usdt"):
                    where = sp.provider if sp.provider not in ("BEGIN", "END") else sp.provider
                    self.err(e.loc, f'uaddr can not be used with "{where}" probes')
                    break
            if e.args and isinstance(e.args[0], ast.String):
                self.uaddr(e, e.args[0].value)
        if name == "strftime":
            if len(arg_types) == 2 and arg_types[1].kind != "int":
                self.err(e.loc, "strftime() only supports integer arguments "
                                f"({arg_types[1].category} provided)")
            return T.Type("timestamp", 16)
        if name == "ntop":
            at = arg_types[-1] if arg_types else T.INT64
            if at.kind not in ("int", "pointer", "array", "string") or (
                    at.kind in ("array", "string") and at.size not in (4, 16)):
                self.err(e.loc, "ntop() expects an integer or array argument, got "
                                f"{at.category}")
            if len(arg_types) == 2 and arg_types[0].kind != "int":
                self.err(e.loc, f"ntop() expects an integer argument ({arg_types[0].category} "
                                "provided)")
            return T.Type("inet", 24)
        if name == "buf":
            return self.buf_type(e, arg_types)
        if name == "macaddr":
            at = arg_types[0] if arg_types else T.INT64
            if at.kind not in ("int", "pointer", "array", "string"):
                self.err(e.loc, f"macaddr() only supports array or pointer arguments "
                                f"({at.category} provided)")
            elif at.kind in ("array", "string") and at.size < 6:
                self.err(e.loc, "macaddr() argument must be 6 bytes in size")
            if e.args and isinstance(e.args[0], ast.String):
                self.err(e.loc, "macaddr() does not support literal string arguments")
            return T.Type("macaddr", 6)
        if name == "strncmp":
            return T.UINT64
        return T.UINT64

    def check_reg(self, e: ast.Call) -> None:
        from .codegen import PT_REGS

        a = e.args[0] if e.args else None
        if not isinstance(a, ast.String):
            if a is not None:
                cat = a.type.category if a.type else "none"
                self.err(e.loc, f"reg() expects a string literal ({cat} provided)")
            return
        if a.value not in PT_REGS:
            self.err(e.loc, f"'{a.value}' is not a valid register on this architecture (x86_64)")
        assert self.cur is not None
        for sp in self.cur.specs:
            if sp.provider in ("BEGIN", "END", "interval", "tracepoint", "software", "hardware"):
                self.err(e.loc, f'reg can not be used with "{sp.provider}" probes')
                break

    def uaddr(self, e: ast.Call, name: str) -> None:
        """Resolve uaddr's symbol in the probed binary now: bpftrace reports it here."""
        from .codegen import CodegenError, compile_time_address

        assert self.cur is not None
        spec = self.cur.specs[0] if self.cur.specs else None
        try:
            if spec is None or spec.provider not in ("uprobe", "uretprobe", "usdt"):
                raise CodegenError(None, f"Could not resolve symbol: :{name}")
            compile_time_address("uaddr", name, spec)
        except CodegenError as err:
            self.err(e.loc, str(err))

    def buf_type(self, e: ast.Call, arg_types: list[T.Type]) -> T.Type:
        """buf(data[, length]): at most BPFTRACE_STRLEN bytes, as bpftrace 0.17."""
        at = arg_types[0] if arg_types else T.INT64
        if len(e.args) == 1:
            if at.kind != "array":
                self.err(e.loc, f"buf() expects a length argument for non-array type "
                                f"{at.category}")
                return T.Type("buffer", 8 + T.STRLEN)
            n = at.size
        else:
            if len(arg_types) > 1 and arg_types[1].kind != "int":
                self.err(e.loc, f"buf() expects an integer length ({arg_types[1].category} "
                                "provided)")
            n = self._const(e.args[1]) or T.STRLEN
            if n <= 0:
                n = T.STRLEN
        if at.kind not in ("int", "pointer", "array", "string"):
            self.err(e.loc, f"buf() expects an integer, pointer or array argument "
                            f"({at.category} provided)")
        return T.Type("buffer", 8 + min(n, T.STRLEN))

    def stack_call(self, e: ast.Call) -> T.Type:
        """kstack/ustack([mode], [limit]): a mode word and/or a literal frame count."""
        mode, limit = "bpftrace", T.STACK_LIMIT
        args = list(e.args)
        if len(args) == 2 or (args and isinstance(args[0], ast.Identifier)
                              and args[0].name in T.STACK_MODES):
            a = args.pop(0)
            if isinstance(a, ast.Identifier) and a.name in T.STACK_MODES:
                mode = a.name
            else:
                self.err(e.loc, f"{e.name}() expects a stack mode literal "
                                f"({self._arg_category(a)} provided)")
        if args:
            a = args[0]
            if isinstance(a, ast.Integer):
                limit = a.value
                if limit > T.MAX_STACK_LIMIT:
                    self.err(e.loc, f"{e.name}([int limit]): limit shouldn't exceed "
                                    f"{T.MAX_STACK_LIMIT}, {limit} given")
                    limit = T.MAX_STACK_LIMIT
            else:
                self.err(e.loc, f"{e.name}() expects a integer literal "
                                f"({self._arg_category(a)} provided)")
        for a in e.args:
            a.type = T.INT64
        return T.stack(e.name, mode, max(limit, 1))

    def _arg_category(self, a: ast.Expr) -> str:
        """What bpftrace calls an argument's type in "expects ..." errors."""
        t = self.expr(a)  # an unknown identifier is reported here
        return "none" if isinstance(a, ast.Identifier) else t.category

    def map_call(self, e: ast.Call) -> T.Type:
        # bpftrace reports these calls' errors without the closing parenthesis
        call_loc = Loc(e.loc.line, e.loc.col, e.loc.end_line, max(e.loc.end_col - 1, e.loc.col))
        m = e.args[0]
        if not isinstance(m, ast.Map):
            types = [self.expr(a) for a in e.args]
            if e.name == "print" and types and types[0].kind == "pointer":
                self.err(e.loc, f"{types[0]} type passed to print() is not printable")
            if e.name in ("delete", "clear", "zero", "has_key", "len"):
                self.err(e.loc, f"{e.name}() expects a map to be provided")
            return T.NONE
        info = self.maps.get(m.name)
        if info is None or info.value is None:
            self.err(call_loc, f"Undefined map: {m.name}")
            for a in e.args[1:]:
                self.expr(a)
            return T.NONE if e.name not in ("has_key", "len") else T.UINT64
        keys = self.map_keys(m)
        if e.name in ("has_key", "delete") and len(e.args) == 2:
            k = e.args[1]
            given = (list(k.elems) if isinstance(k, ast.Tuple) and len(info.keys or []) > 1
                     else [k])
            keys = self.map_keys(ast.Map(k.loc, m.name, given))
            if isinstance(k, ast.Tuple):
                self.expr(k)
            self.check_keys(m, keys, call_loc)
        elif e.name == "delete":
            self.check_keys(m, keys, call_loc)
        elif m.keys:
            self.err(e.loc, f"The map passed to {e.name}() should not be indexed by a key")
        m.type = info.value
        for a in e.args[1:]:
            if e.name == "print":
                self.expr(a)
        return T.UINT64 if e.name in ("has_key", "len") else T.NONE

    def check_format(self, e: ast.Call, arg_types: list[T.Type]) -> None:
        if not e.args:
            return
        first = e.args[0]
        if not isinstance(first, ast.String):
            self.err(e.loc, f"{e.name}() expects a string literal "
                            f"({arg_types[0].category} provided)")
            return
        specs = parse_format(first.value)
        given = len(e.args) - 1
        if given < len(specs):
            self.err(e.loc, f"{e.name}: Not enough arguments for format string ({given} "
                            f"supplied, {len(specs)} expected)")
            return
        if given > len(specs):
            self.err(e.loc, f"{e.name}: Too many arguments for format string ({given} "
                            f"supplied, {len(specs)} expected)")
            return
        for fs, t in zip(specs, arg_types[1:], strict=True):
            want = "string" if fs.conv in "sr" else "integer"
            have = t.category
            if fs.conv == "s":
                if have not in _STRINGISH:
                    self.err(e.loc, f"{e.name}: %s specifier expects a value of type string "
                                    f"({have} supplied)")
                continue
            if want == "integer" and have not in ("integer", "probe", "ksym", "usym"):
                self.err(e.loc, f"{e.name}: %{fs.conv} specifier expects a value of type "
                                f"integer ({have} supplied)")


def Type64(signed: bool) -> T.Type:  # noqa: N802 - a type constructor
    return T.INT64 if signed else T.UINT64


def tp_field_type(f: Any) -> T.Type:
    """The language type of a tracepoint format field."""
    if f.is_string:
        return T.string(f.array_len or T.STRLEN) if not f.data_loc else T.string(T.STRLEN)
    ctype = f.type.replace("const ", "").strip()
    if ctype.endswith("*"):
        return c_pointer(ctype)
    if getattr(f, "array_len", None) and not f.data_loc:  # __u8 saddr[4]: bytes
        n = max(f.array_len, 1)
        esize = f.size // n if f.size % n == 0 and f.size // n in (1, 2, 4, 8) else 1
        elem = T.Type("int", esize, ctype in _SIGNED_C)
        return T.Type("array", f.size, False, (elem,))
    return T.Type("int", f.size if f.size in (1, 2, 4, 8) else 8, field_signed(f))


_C_INTS = {"char": (1, True), "short": (2, True), "int": (4, True), "long": (8, True),
           "long long": (8, True), "s8": (1, True), "s16": (2, True), "s32": (4, True),
           "s64": (8, True), "u8": (1, False), "u16": (2, False), "u32": (4, False),
           "u64": (8, False), "unsigned char": (1, False), "unsigned short": (2, False),
           "unsigned int": (4, False), "unsigned long": (8, False), "unsigned": (4, False),
           "unsigned long long": (8, False), "size_t": (8, False), "pid_t": (4, True)}


def c_pointer(ctype: str) -> T.Type:
    """A C pointer type spelled in a tracepoint format (``const char *const *``)."""
    inner = ctype[:-1].replace("const", "").strip()
    if inner.endswith("*"):
        elem = c_pointer(inner)
    elif inner in _C_INTS:
        size, signed = _C_INTS[inner]
        elem = T.Type("int", size, signed)
    else:
        elem = T.UINT64
    return T.Type("pointer", 8, False, (elem,), ctype)


_SIGNED_C = {"int", "long", "short", "long long", "char", "signed char", "s8", "s16", "s32",
             "s64", "signed", "signed int", "long int", "pid_t", "ssize_t", "loff_t", "off_t"}


def field_signed(f: Any) -> bool:
    """Signedness from the C type name (bpftrace reads ``int dfd; size:8; signed:0`` as
    a signed 64-bit value), falling back to the format's ``signed`` flag."""
    ctype = f.type.replace("const ", "").replace("volatile ", "").strip()
    if ctype.startswith("unsigned") or ctype in ("u8", "u16", "u32", "u64", "bool"):
        return False
    if ctype in _SIGNED_C:
        return True
    return bool(f.signed)


def _call_name(e: ast.Expr) -> str:
    return e.name if isinstance(e, ast.Call) else type(e).__name__.lower()


def _arg_count_msg(name: str, lo: int, hi: int | None, n: int) -> str:
    if hi == 0:
        return f"{name}() requires no arguments ({n} provided)"
    if lo == hi:
        word = "one argument" if lo == 1 else f"{lo} arguments"
        return f"{name}() requires {word} ({n} provided)"
    if hi is not None and n > hi:
        return f"{name}() takes up to {hi} arguments ({n} provided)"
    word = "one argument" if lo == 1 else f"{lo} arguments"
    return f"{name}() requires at least {word} ({n} provided)"
