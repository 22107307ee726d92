"""The decoded type model: one small slotted class per BTF kind.

Types refer to each other by id (not by object) so decoding one type never
pulls in its neighbours; the ``Btf`` object answers follow-up questions.
Plain ``__slots__`` classes rather than dataclasses: creating ~25 dataclasses
costs ~12 ms of import time, and start-up is a feature. Treat them as read-only.
"""

from __future__ import annotations

from .format import Kind

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class _Rec:
    """Value semantics (eq, hash, repr) over the ``__slots__`` of the class chain."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[str, ...]:
        out: list[str] = []
        for cls in reversed(type(self).__mro__):
            out.extend(cls.__dict__.get("__slots__", ()))
        return tuple(out)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields())
        return f"{type(self).__name__}({args})"


class Type(_Rec):
    """Common to every kind; ``name`` is "" for anonymous types."""

    __slots__ = ("id", "name")
    kind = Kind.UNKN

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name


class Void(Type):
    """Type id 0."""

    __slots__ = ()


class Int(Type):
    __slots__ = ("size", "encoding", "bit_offset", "bits")
    kind = Kind.INT

    def __init__(self, id: int, name: str, size: int, encoding: int, bit_offset: int,
                 bits: int) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.encoding = encoding  # INT_SIGNED | INT_CHAR | INT_BOOL
        self.bit_offset = bit_offset
        self.bits = bits

    @property
    def signed(self) -> bool:
        return bool(self.encoding & 1)


class Float(Type):
    __slots__ = ("size",)
    kind = Kind.FLOAT

    def __init__(self, id: int, name: str, size: int) -> None:
        self.id = id
        self.name = name
        self.size = size


class Ref(Type):
    """A kind whose payload is the type it refers to."""

    __slots__ = ("type",)

    def __init__(self, id: int, name: str, type: int) -> None:
        self.id = id
        self.name = name
        self.type = type


class Ptr(Ref):
    __slots__ = ()
    kind = Kind.PTR


class Typedef(Ref):
    __slots__ = ()
    kind = Kind.TYPEDEF


class Volatile(Ref):
    __slots__ = ()
    kind = Kind.VOLATILE


class Const(Ref):
    __slots__ = ()
    kind = Kind.CONST


class Restrict(Ref):
    __slots__ = ()
    kind = Kind.RESTRICT


class TypeTag(Ref):
    __slots__ = ()
    kind = Kind.TYPE_TAG


class Func(Ref):
    """``type`` is the FUNC_PROTO; ``linkage`` is FUNC_STATIC/GLOBAL/EXTERN."""

    __slots__ = ("linkage",)
    kind = Kind.FUNC

    def __init__(self, id: int, name: str, type: int, linkage: int = 0) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.linkage = linkage


class Var(Ref):
    __slots__ = ("linkage",)
    kind = Kind.VAR

    def __init__(self, id: int, name: str, type: int, linkage: int = 0) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.linkage = linkage


class DeclTag(Ref):
    """``component_idx`` -1 tags the type itself, else member/param number."""

    __slots__ = ("component_idx",)
    kind = Kind.DECL_TAG

    def __init__(self, id: int, name: str, type: int, component_idx: int = -1) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.component_idx = component_idx


class Array(Type):
    __slots__ = ("type", "index_type", "nelems")
    kind = Kind.ARRAY

    def __init__(self, id: int, name: str, type: int, index_type: int, nelems: int) -> None:
        self.id = id
        self.name = name
        self.type = type
        self.index_type = index_type
        self.nelems = nelems


class Member(_Rec):
    """A struct/union member; ``bit_offset`` from the start of its struct."""

    __slots__ = ("name", "type", "bit_offset", "bitfield_size")

    def __init__(self, name: str, type: int, bit_offset: int, bitfield_size: int = 0) -> None:
        self.name = name
        self.type = type
        self.bit_offset = bit_offset
        self.bitfield_size = bitfield_size


class Struct(Type):
    """``kflag`` set: member offsets carry bitfield sizes (bits 24..31)."""

    __slots__ = ("size", "members", "kflag")
    kind = Kind.STRUCT

    def __init__(self, id: int, name: str, size: int, members: tuple[Member, ...] = (),
                 kflag: bool = False) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.members = members
        self.kflag = kflag


class Union(Struct):
    __slots__ = ()
    kind = Kind.UNION


class EnumValue(_Rec):
    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value


class Enum(Type):
    __slots__ = ("size", "signed", "values")
    kind = Kind.ENUM

    def __init__(self, id: int, name: str, size: int, signed: bool,
                 values: tuple[EnumValue, ...] = ()) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.signed = signed
        self.values = values


class Enum64(Enum):
    __slots__ = ()
    kind = Kind.ENUM64


class Fwd(Type):
    __slots__ = ("is_union",)
    kind = Kind.FWD

    def __init__(self, id: int, name: str, is_union: bool) -> None:
        self.id = id
        self.name = name
        self.is_union = is_union


class Param(_Rec):
    """``type`` 0 with no name as the last param means ``...``."""

    __slots__ = ("name", "type")

    def __init__(self, name: str, type: int) -> None:
        self.name = name
        self.type = type


class FuncProto(Type):
    __slots__ = ("ret", "params")
    kind = Kind.FUNC_PROTO

    def __init__(self, id: int, name: str, ret: int, params: tuple[Param, ...] = ()) -> None:
        self.id = id
        self.name = name
        self.ret = ret
        self.params = params

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type == 0


class VarSecinfo(_Rec):
    __slots__ = ("type", "offset", "size")

    def __init__(self, type: int, offset: int, size: int) -> None:
        self.type = type
        self.offset = offset
        self.size = size


class Datasec(Type):
    __slots__ = ("size", "vars")
    kind = Kind.DATASEC

    def __init__(self, id: int, name: str, size: int, vars: tuple[VarSecinfo, ...] = ()) -> None:
        self.id = id
        self.name = name
        self.size = size
        self.vars = vars


class Field(_Rec):
    """Where a (possibly nested) member lives.

    ``bit_offset`` counts from the start of the last base: the root, or the target
    of the last pointer followed; ``derefs`` are the byte offsets (each in its own
    base) of the pointers followed on the way, in order.
    """

    __slots__ = ("name", "type", "bit_offset", "bitfield_size", "path", "derefs")

    def __init__(self, name: str, type: int, bit_offset: int, bitfield_size: int = 0,
                 path: tuple[str, ...] = (), derefs: tuple[int, ...] = ()) -> None:
        self.name = name
        self.type = type
        self.bit_offset = bit_offset
        self.bitfield_size = bitfield_size
        self.path = path
        self.derefs = derefs

    @property
    def offset(self) -> int:
        """Byte offset (of the containing storage for a bitfield)."""
        return self.bit_offset // 8
