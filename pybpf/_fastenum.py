"""Integer enumerations that cost nothing at start-up.

pybpf names ~250 constants (opcodes, uapi commands and types, BTF kinds). As
``enum.IntEnum`` classes they cost ~7 ms of every process's start-up on CPython
3.11: the ``enum`` module itself and its per-member metaclass machinery. These
classes keep what pybpf uses of IntEnum (members are ``int`` subclass instances
with ``name`` and ``value``; ``Cls(value)``, ``Cls[name]``, iteration in definition
order without aliases, ``__members__``, ``repr`` ``<Cls.NAME: v>`` and ``str`` as
the number, as IntEnum's) and are built with one plain ``type()`` call. For type
checkers they are ordinary IntEnums:

    @fast_enum
    class ProgType(IntEnumBase):
        XDP = 6
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum as IntEnumBase
    from typing import TypeVar

    _T = TypeVar("_T")

    def fast_enum(cls: _T) -> _T:
        return cls
else:
    IntEnumBase = object

    class _EnumType(type):
        """The class of each enumeration: lookup by value, by name, iteration."""

        def __call__(cls, value):
            try:
                return cls._value2member_map_[value]
            except (KeyError, TypeError):
                raise ValueError(f"{value!r} is not a valid {cls.__qualname__}") from None

        def __getitem__(cls, name):
            return cls._member_map_[name]

        def __iter__(cls):
            return iter(cls._member_list_)

        def __reversed__(cls):
            return reversed(cls._member_list_)

        def __len__(cls):
            return len(cls._member_list_)

        def __contains__(cls, value):
            return value in cls._value2member_map_

        def __repr__(cls):
            return f"<enum {cls.__name__!r}>"

        @property
        def __members__(cls):
            return dict(cls._member_map_)

        def __setattr__(cls, name, value):
            if name in cls.__dict__.get("_member_map_", ()):
                raise AttributeError(f"cannot reassign member {name!r}")
            super().__setattr__(name, value)

    class _Member(int):
        """A member: an ``int`` that knows its name."""

        @property
        def name(self):
            return self._name_

        @property
        def value(self):
            return int(self)

        def __repr__(self):
            return f"<{type(self).__name__}.{self._name_}: {int(self)}>"

        __str__ = int.__repr__
        __format__ = int.__format__
        __hash__ = int.__hash__

        def __reduce_ex__(self, protocol):
            return type(self), (int(self),)

        def __copy__(self):
            return self

        def __deepcopy__(self, memo):
            return self

    def fast_enum(body):
        ns = {k: v for k, v in vars(body).items() if k not in ("__dict__", "__weakref__")}
        names = [k for k, v in ns.items() if not k.startswith("_") and type(v) is int]
        for k in names:
            del ns[k]
        cls = _EnumType(body.__name__, (_Member,), ns)
        by_value, by_name, members = {}, {}, []
        new = int.__new__
        for k in names:
            v = vars(body)[k]
            m = by_value.get(v)
            if m is None:  # a repeated value is an alias of the first name
                m = new(cls, v)
                m._name_ = k
                by_value[v] = m
                members.append(m)
            by_name[k] = m
            type.__setattr__(cls, k, m)
        type.__setattr__(cls, "_value2member_map_", by_value)
        type.__setattr__(cls, "_member_map_", by_name)
        type.__setattr__(cls, "_member_list_", members)
        return cls
