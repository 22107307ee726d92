"""The syntax tree: one dataclass per construct, each carrying its source span.

Passes (semantic checks, codegen) annotate expressions with ``type`` in place,
as bpftrace's passes do over its one AST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Loc


@dataclass(eq=False)
class Node:
    loc: Loc


@dataclass(eq=False)
class Expr(Node):
    type: Any = field(default=None, init=False)


@dataclass(eq=False)
class Integer(Expr):
    value: int
    is_bool: bool = False


@dataclass(eq=False)
class String(Expr):
    value: str


@dataclass(eq=False)
class Builtin(Expr):
    name: str


@dataclass(eq=False)
class Identifier(Expr):
    name: str


@dataclass(eq=False)
class PositionalParameter(Expr):
    n: int  # 0 means $#


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: list[Expr]
    name_loc: Loc | None = None


@dataclass(eq=False)
class Map(Expr):
    name: str
    keys: list[Expr] = field(default_factory=list)
    name_loc: Loc | None = None

    @property
    def ident(self) -> str:
        return self.name


@dataclass(eq=False)
class Variable(Expr):
    name: str


@dataclass(eq=False)
class Binop(Expr):
    op: str
    left: Expr
    right: Expr
    op_loc: Loc | None = None


@dataclass(eq=False)
class Unop(Expr):
    op: str  # "-", "!", "~", "*", "&", "++", "--"
    expr: Expr
    postfix: bool = False
    op_loc: Loc | None = None


@dataclass(eq=False)
class Ternary(Expr):
    cond: Expr
    left: Expr
    right: Expr


@dataclass(eq=False)
class FieldAccess(Expr):
    expr: Expr
    field: str
    arrow: bool = False


@dataclass(eq=False)
class ArrayAccess(Expr):
    expr: Expr
    index: Expr


@dataclass(eq=False)
class TupleAccess(Expr):
    expr: Expr
    index: int


@dataclass(eq=False)
class Tuple(Expr):
    elems: list[Expr]


@dataclass(eq=False)
class TypeSpec:
    """A type as written in a cast or declaration: ``uint8``, ``struct task_struct *``."""

    name: str  # "uint8", "string", "struct task_struct", ...
    pointer: int = 0
    array: int | None = None
    size: int | None = None  # string[N]

    def __str__(self) -> str:
        s = self.name + (f"[{self.size}]" if self.size is not None else "")
        s += " " + "*" * self.pointer if self.pointer else ""
        return s + (f"[{self.array}]" if self.array is not None else "")


@dataclass(eq=False)
class Cast(Expr):
    to: TypeSpec
    expr: Expr
    type_loc: Loc | None = None


@dataclass(eq=False)
class Sizeof(Expr):
    of: TypeSpec | Expr


@dataclass(eq=False)
class Offsetof(Expr):
    of: TypeSpec | Expr
    fields: list[str]


# -- statements --------------------------------------------------------------
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class AssignMap(Stmt):
    map: Map
    expr: Expr
    op: str | None = None  # compound operator, e.g. "+" for +=
    op_loc: Loc | None = None


@dataclass(eq=False)
class AssignVar(Stmt):
    var: Variable
    expr: Expr
    op: str | None = None
    let: bool = False
    decl_type: TypeSpec | None = None
    op_loc: Loc | None = None


@dataclass(eq=False)
class VarDecl(Stmt):
    var: Variable
    decl_type: TypeSpec | None = None


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)


@dataclass(eq=False)
class Unroll(Stmt):
    count: Expr
    body: list[Stmt]


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: list[Stmt]


@dataclass(eq=False)
class ForMap(Stmt):
    var: Variable
    map: Map
    body: list[Stmt]


@dataclass(eq=False)
class ForRange(Stmt):
    var: Variable
    start: Expr
    end: Expr
    body: list[Stmt]


@dataclass(eq=False)
class Jump(Stmt):
    kind: str  # "break", "continue", "return"
    expr: Expr | None = None


# -- top level ----------------------------------------------------------------
@dataclass(eq=False)
class AttachPoint(Node):
    raw: str
    probe: Any = None  # probes.ProbeSpec once parsed


@dataclass(eq=False)
class Probe(Node):
    attach_points: list[AttachPoint]
    pred: Expr | None
    body: list[Stmt]
    index: int = 0


@dataclass(eq=False)
class Program(Node):
    probes: list[Probe]
    config: list[AssignVar] = field(default_factory=list)
    c_definitions: str = ""


def walk_exprs(e: Expr) -> list[Expr]:
    """``e`` and every expression below it, parents first."""
    out = [e]
    for child in children(e):
        out.extend(walk_exprs(child))
    return out


def children(e: Expr) -> list[Expr]:
    if isinstance(e, Call):
        return list(e.args)
    if isinstance(e, Map):
        return list(e.keys)
    if isinstance(e, Binop):
        return [e.left, e.right]
    if isinstance(e, Unop | FieldAccess | TupleAccess | Cast):
        return [e.expr]
    if isinstance(e, ArrayAccess):
        return [e.expr, e.index]
    if isinstance(e, Ternary):
        return [e.cond, e.left, e.right]
    if isinstance(e, Tuple):
        return list(e.elems)
    if isinstance(e, Sizeof | Offsetof) and isinstance(e.of, Expr):
        return [e.of]
    return []
