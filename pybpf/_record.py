"""A light ``@dataclass`` for modules on the start-up path.

``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``) and compiles
each generated method separately: for the ~25 record classes `pybpf trace` imports
that was a third of its import time. This builds the same methods (``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` when frozen, frozen ``__setattr__``,
``__slots__``, ``__match_args__``): only ``__init__`` is compiled per class (it is the
hot one), the others are closures over an ``attrgetter``. Supported: the
options this code base uses (``frozen``, ``slots``, ``eq``; ``field(default=...,
default_factory=...)``), plus ``replace``.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    _C = TypeVar("_C", bound=type)
    _T = TypeVar("_T")
else:
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda f: f
_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


class _Field:
    __slots__ = ("default", "factory")

    def __init__(self, default: Any, factory: Callable[[], Any] | None) -> None:
        self.default, self.factory = default, factory


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None) -> Any:
    """``dataclasses.field`` (the ``default`` and ``default_factory`` parts)."""
    return _Field(default, default_factory)


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: _C | None = None, /, *, frozen: bool = False, slots: bool = False,
              eq: bool = True) -> Any:
    """``dataclasses.dataclass`` with the options above; same generated behaviour."""
    def wrap(c: _C) -> _C:
        return _build(c, frozen, slots, eq)

    return wrap if cls is None else wrap(cls)


def _build(cls: _C, frozen: bool, slots: bool, eq: bool) -> _C:
    fields: dict[str, tuple[Any, Callable[[], Any] | None]] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__record_fields__", {}))
    own: list[str] = []
    for name, ann in cls.__dict__.get("__annotations__", {}).items():
        if str(ann).startswith(("ClassVar", "typing.ClassVar")):
            continue
        d = cls.__dict__.get(name, _MISSING)
        if isinstance(d, _Field):
            fields[name] = (d.default, d.factory)
        else:
            fields[name] = (d, None)
        own.append(name)
    names = list(fields)
    env: dict[str, Any] = {"_M": _MISSING, "_set": object.__setattr__}
    params, body = [], []
    for n in names:
        default, factory = fields[n]
        if factory is not None:
            env[f"_f_{n}"] = factory
            params.append(f"{n}=_M")
            value = f"_f_{n}() if {n} is _M else {n}"
        elif default is not _MISSING:
            env[f"_d_{n}"] = default
            params.append(f"{n}=_d_{n}")
            value = n
        else:
            params.append(n)
            value = n
        body.append(f"  _set(self, {n!r}, {value})" if frozen else f"  self.{n} = {value}")
    post = "  self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    src = (f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["  pass"])
           + "\n" + post)
    methods: dict[str, Any] = {"__init__": None}  # compiled on first use: see _lazy_init
    # the rest are closures over an attrgetter: compiling them cost more than they do
    key = _key(names)
    methods["__repr__"] = _repr(names)
    if eq:
        methods["__eq__"] = _eq(key)
        if frozen:
            methods["__hash__"] = lambda self: hash(key(self))
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    if eq and not frozen and "__hash__" not in cls.__dict__:
        methods["__hash__"] = None
    if slots:
        ns = {k: v for k, v in cls.__dict__.items()
              if k not in own and k not in ("__dict__", "__weakref__")}
        ns["__slots__"] = tuple(own)
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, ns)  # type: ignore[assignment]
        cls.__qualname__ = qualname
        if frozen:
            methods["__getstate__"] = _getstate
            methods["__setstate__"] = _setstate
    else:
        for n in own:
            d = cls.__dict__.get(n)
            if isinstance(d, _Field):
                if d.default is _MISSING:
                    delattr(cls, n)
                else:
                    setattr(cls, n, d.default)
    d = cls.__dict__
    explicit_hash = "__hash__" in d and not (d["__hash__"] is None and "__eq__" in d)
    methods["__init__"] = _lazy_init(cls, src, env)
    for k, v in methods.items():
        if (explicit_hash if k == "__hash__" else k in d):
            continue
        if v is not None and v not in _SHARED:
            v.__qualname__ = f"{cls.__qualname__}.{k}"
        setattr(cls, k, v)
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(names)  # type: ignore[misc,attr-defined]
    return cls


def _lazy_init(cls: type, src: str, env: dict[str, Any]) -> Callable[..., None]:
    """An ``__init__`` that compiles the real one (``src``) the first time a record is
    made, puts it on ``cls`` and hands over: a process imports many record classes it
    never instantiates, and compiling each ``__init__`` up front was most of their cost."""
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        exec(src, env)  # noqa: S102 - our own generated source, as dataclasses does
        real = env["__init__"]
        real.__qualname__ = f"{cls.__qualname__}.__init__"
        type.__setattr__(cls, "__init__", real)
        real(self, *args, **kwargs)

    return __init__


def _key(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields of a record as a tuple (what ``==`` and ``hash`` compare)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return lambda self: ()


def _repr(names: list[str]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__qualname__}({fields})"
    return __repr__


def _eq(key: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented
    return __eq__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, n) for n in self.__record_fields__)


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for n, v in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, n, v)


def replace(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace``: a copy of record ``obj`` with some fields changed."""
    for n in obj.__record_fields__:  # type: ignore[attr-defined]
        changes.setdefault(n, getattr(obj, n))
    return type(obj)(**changes)


_SHARED = (_frozen_setattr, _frozen_delattr, _getstate, _setstate)
