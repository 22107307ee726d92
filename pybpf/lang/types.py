"""Value types of the language (bpftrace's SizedType, reduced to what pybpf compiles)."""

from __future__ import annotations

from .._record import dataclass

AGGREGATES = ("count", "sum", "min", "max", "avg", "stats", "hist", "lhist")


@dataclass(frozen=True, slots=True)
class Type:
    """``kind`` is int, string, tuple, none, probe, record, pointer, ksym/usym or an aggregate."""

    kind: str
    size: int = 8
    signed: bool = False
    elems: tuple[Type, ...] = ()
    name: str = ""  # record/pointer type name, or the tracepoint of an args record

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "pointer")

    @property
    def is_aggregate(self) -> bool:
        return self.kind in AGGREGATES

    @property
    def category(self) -> str:
        """The coarse name bpftrace uses in ternary errors ("integer", "string", ...)."""
        return {"int": "integer", "pointer": "integer"}.get(self.kind, self.kind)

    def __str__(self) -> str:
        if self.kind == "int":
            return f"{'' if self.signed else 'unsigned '}int{self.size * 8}"
        if self.kind == "string":
            return f"string[{self.size}]"
        if self.kind == "tuple":
            return "(" + ",".join(str(e) for e in self.elems) + ")"
        if self.kind == "pointer":
            return f"{self.name} *"
        if self.kind == "record":
            return self.name
        return self.kind


INT64 = Type("int", 8, True)
UINT64 = Type("int", 8, False)
UINT32 = Type("int", 4, False)
NONE = Type("none", 0)
PROBE = Type("probe", 8)
COMM = Type("string", 16)
STRLEN = 64


# kinds held in one 8-byte word (usym adds the pid word: see storage_size)
WORD_KINDS = ("int", "pointer", "probe", "ksym", "usym", "kstack", "ustack", "username")
STACK_MODES = ("bpftrace", "perf", "raw")
STACK_LIMIT = 127  # bpftrace's default frame count
MAX_STACK_LIMIT = 1024


def stack(kind: str, mode: str = "bpftrace", limit: int = STACK_LIMIT) -> Type:
    """A kstack/ustack value: a stack id (plus the pid for ustack) resolved at print time."""
    return Type(kind, 8, False, (), f"{mode}:{limit}")


def stack_params(t: Type) -> tuple[str, int]:
    """(mode, frame limit) of a stack type."""
    mode, _, limit = (t.name or "bpftrace:127").partition(":")
    return mode, int(limit or STACK_LIMIT)


def string(size: int) -> Type:
    return Type("string", size)


def int_type(name: str) -> Type:
    """``uint8`` … ``int64``, ``bool``."""
    if name == "bool":
        return Type("int", 1, False)
    signed = not name.startswith("u")
    return Type("int", int(name.lstrip("uint")) // 8, signed)


def tuple_of(elems: list[Type]) -> Type:
    return Type("tuple", sum(storage_size(e) for e in elems), False, tuple(elems))


def storage_size(t: Type) -> int:
    """Bytes a value takes in a map key/value or an event record (8-byte aligned)."""
    if t.kind == "tuple":
        return sum(storage_size(e) for e in t.elems)
    if t.kind == "string":
        return (t.size + 7) & ~7
    if t.kind in ("avg", "stats", "min", "max", "usym"):
        return 16
    if t.kind in ("inet", "timestamp", "buffer", "macaddr", "record", "array"):
        return (t.size + 7) & ~7
    if t.kind == "none":
        return 0
    return 8


def compatible(a: Type, b: Type) -> bool:
    """Whether a value of ``b`` may be stored where ``a`` was (strings of any length mix)."""
    if a.kind != b.kind:
        return False
    if a.kind == "tuple":
        return len(a.elems) == len(b.elems) and all(
            compatible(x, y) for x, y in zip(a.elems, b.elems, strict=True))
    if a.kind == "int":
        return True
    return True


def merge(a: Type, b: Type) -> Type:
    """The type holding both (longest string, widest tuple member)."""
    if a.kind == "string" and b.kind == "string":
        return a if a.size >= b.size else b
    if a.kind == "tuple" and b.kind == "tuple" and len(a.elems) == len(b.elems):
        return tuple_of([merge(x, y) for x, y in zip(a.elems, b.elems, strict=True)])
    if a.kind == "int" and b.kind == "int":
        return Type("int", 8, a.signed or b.signed)
    return a
