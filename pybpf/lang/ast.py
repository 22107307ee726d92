"""The syntax tree: one plain class per construct, each carrying its source span.

Passes (semantic checks, codegen) annotate expressions with ``type`` in place,
as bpftrace's passes do over its one AST.

The classes are declared like dataclasses (annotated fields, defaults) but built
by ``_node``: ``dataclasses`` generates and compiles code per class, which cost
more import time than the rest of the parser, and start-up is measured.
"""

from __future__ import annotations

from .errors import Loc

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar, dataclass_transform

    _C = TypeVar("_C", bound=type)
else:
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda f: f
_REQUIRED = object()


class _Factory:
    """A default made fresh for every node (``field(default_factory=...)``)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class _NoInit:
    """A field that is not an ``__init__`` parameter (``field(init=False)``)."""

    def __init__(self, default: Any) -> None:
        self.default = default


def field(*, default: Any = _REQUIRED, default_factory: Callable[[], Any] | None = None,
          init: bool = True) -> Any:
    """``dataclasses.field`` for ``_node`` classes (the parts this module uses)."""
    if not init:
        return _NoInit(None if default is _REQUIRED else default)
    if default_factory is not None:
        return _Factory(default_factory)
    return default


@dataclass_transform(eq_default=False, field_specifiers=(field,))
def _node(cls: _C) -> _C:
    """Give ``cls`` dataclass-style ``__init__``/``__repr__`` and ``_fields`` (every field,
    bases first); equality stays identity, as with ``@dataclass(eq=False)``."""
    params: list[tuple[str, Any]] = list(getattr(cls, "_params", ()))
    fixed: list[tuple[str, Any]] = list(getattr(cls, "_fixed", ()))
    for name, ann in cls.__dict__.get("__annotations__", {}).items():
        if str(ann).startswith("ClassVar"):
            continue
        d = cls.__dict__.get(name, _REQUIRED)
        if isinstance(d, _NoInit):
            fixed.append((name, d.default))
            setattr(cls, name, d.default)
        else:
            params.append((name, d))
            if isinstance(d, _Factory):
                delattr(cls, name)
    names = tuple(n for n, _ in params)
    cls._params, cls._fixed = tuple(params), tuple(fixed)  # type: ignore[attr-defined]
    fields = tuple(n for n, _ in fixed) + names
    cls._fields = fields  # type: ignore[attr-defined]

    def __init__(self: Any, *args: Any, **kw: Any) -> None:
        if len(args) > len(params):
            raise TypeError(f"{cls.__name__}() takes {len(params)} arguments")
        for name, value in zip(names, args, strict=False):
            setattr(self, name, value)
        for name, d in params[len(args):]:
            if name in kw:
                value = kw.pop(name)
            elif d is _REQUIRED:
                raise TypeError(f"{cls.__name__}() missing argument: {name!r}")
            else:
                value = d.make() if isinstance(d, _Factory) else d
            setattr(self, name, value)
        if kw:
            raise TypeError(f"{cls.__name__}() got unexpected arguments: {sorted(kw)}")

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{cls.__name__}({inner})"

    cls.__init__ = __init__  # type: ignore[misc]
    cls.__repr__ = __repr__  # type: ignore[assignment]
    return cls


@_node
class Node:
    _fields: ClassVar[tuple[str, ...]]  # every field's name, bases first
    loc: Loc


@_node
class Expr(Node):
    type: Any = field(default=None, init=False)


@_node
class Integer(Expr):
    value: int
    is_bool: bool = False


@_node
class String(Expr):
    value: str


@_node
class Builtin(Expr):
    name: str


@_node
class Identifier(Expr):
    name: str


@_node
class PositionalParameter(Expr):
    n: int  # 0 means $#


@_node
class Call(Expr):
    name: str
    args: list[Expr]
    name_loc: Loc | None = None


@_node
class Map(Expr):
    name: str
    keys: list[Expr] = field(default_factory=list)
    name_loc: Loc | None = None

    @property
    def ident(self) -> str:
        return self.name


@_node
class Variable(Expr):
    name: str


@_node
class Binop(Expr):
    op: str
    left: Expr
    right: Expr
    op_loc: Loc | None = None


@_node
class Unop(Expr):
    op: str  # "-", "!", "~", "*", "&", "++", "--"
    expr: Expr
    postfix: bool = False
    op_loc: Loc | None = None


@_node
class Ternary(Expr):
    cond: Expr
    left: Expr
    right: Expr


@_node
class FieldAccess(Expr):
    expr: Expr
    field: str
    arrow: bool = False


@_node
class ArrayAccess(Expr):
    expr: Expr
    index: Expr


@_node
class TupleAccess(Expr):
    expr: Expr
    index: int


@_node
class Tuple(Expr):
    elems: list[Expr]


@_node
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


@_node
class Cast(Expr):
    to: TypeSpec
    expr: Expr
    type_loc: Loc | None = None


@_node
class Sizeof(Expr):
    of: TypeSpec | Expr


@_node
class Offsetof(Expr):
    of: TypeSpec | Expr
    fields: list[str]


# -- statements --------------------------------------------------------------
@_node
class Stmt(Node):
    pass


@_node
class ExprStmt(Stmt):
    expr: Expr


@_node
class AssignMap(Stmt):
    map: Map
    expr: Expr
    op: str | None = None  # compound operator, e.g. "+" for +=
    op_loc: Loc | None = None


@_node
class AssignVar(Stmt):
    var: Variable
    expr: Expr
    op: str | None = None
    let: bool = False
    decl_type: TypeSpec | None = None
    op_loc: Loc | None = None


@_node
class VarDecl(Stmt):
    var: Variable
    decl_type: TypeSpec | None = None


@_node
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)


@_node
class Unroll(Stmt):
    count: Expr
    body: list[Stmt]


@_node
class While(Stmt):
    cond: Expr
    body: list[Stmt]


@_node
class ForMap(Stmt):
    var: Variable
    map: Map
    body: list[Stmt]


@_node
class ForRange(Stmt):
    var: Variable
    start: Expr
    end: Expr
    body: list[Stmt]


@_node
class Jump(Stmt):
    kind: str  # "break", "continue", "return"
    expr: Expr | None = None


# -- top level ----------------------------------------------------------------
@_node
class AttachPoint(Node):
    raw: str
    probe: Any = None  # probes.ProbeSpec once parsed


@_node
class Probe(Node):
    attach_points: list[AttachPoint]
    pred: Expr | None
    body: list[Stmt]
    index: int = 0


@_node
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
