"""IntEnum classes built the way the standard library builds its own.

``class X(IntEnum)`` costs ~0.1 ms per member on CPython 3.11 (its metaclass
machinery runs per member): pybpf's ~250 opcode, uapi and BTF members were ~5 ms of
every process's start-up. ``enum._simple_enum`` (what ``re``, ``http`` and ``ssl`` use
for theirs) makes the same IntEnum class from a plain class body in half the time;
where it is missing, the functional API does. For type checkers the classes are
ordinary IntEnums:

    @fast_enum
    class ProgType(IntEnumBase):
        XDP = 6
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum as IntEnumBase
    from typing import TypeVar

    _T = TypeVar("_T")

    def fast_enum(cls: _T) -> _T:
        return cls
else:
    IntEnumBase = object

    def fast_enum(cls):
        simple = getattr(enum, "_simple_enum", None)
        if simple is not None:
            return simple(enum.IntEnum)(cls)
        members = {k: v for k, v in vars(cls).items() if not k.startswith("_")}
        return enum.IntEnum(cls.__name__, members, module=cls.__module__,
                            qualname=cls.__qualname__)
