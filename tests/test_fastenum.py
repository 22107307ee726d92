"""pybpf's start-up-cheap enumerations behave as the IntEnum they stand in for."""

from __future__ import annotations

import copy
import enum
import pickle

import pytest

from pybpf._fastenum import IntEnumBase, fast_enum
from pybpf.uapi import ProgType


@fast_enum
class Fast(IntEnumBase):
    A = 1
    B = 2
    ALIAS = 1
    C = 7


class Slow(enum.IntEnum):
    A = 1
    B = 2
    ALIAS = 1
    C = 7


def test_same_observable_behaviour() -> None:
    for f, s in ((Fast.A, Slow.A), (Fast.C, Slow.C)):
        assert (f.name, f.value, int(f), str(f), repr(f).replace("Fast", "Slow"), f"{f:#x}") == \
               (s.name, s.value, int(s), str(s), repr(s), f"{s:#x}")
    assert [m.name for m in Fast] == [m.name for m in Slow] == ["A", "B", "C"]
    assert list(Fast.__members__) == list(Slow.__members__)
    assert Fast.ALIAS is Fast.A and Fast(1) is Fast.A and Fast["C"] is Fast.C
    assert len(Fast) == 3 and Fast.B + 1 == 3 and type(Fast.B + 1) is int
    assert {1: "x"}[Fast.A] == "x" and isinstance(Fast.B, Fast) and isinstance(Fast.B, int)


def test_errors_and_identity() -> None:
    with pytest.raises(ValueError, match="5 is not a valid Fast"):
        Fast(5)
    with pytest.raises(KeyError):
        Fast["D"]
    with pytest.raises(AttributeError):
        Fast.A = 3  # type: ignore[misc]
    assert copy.deepcopy(Fast.C) is Fast.C
    assert pickle.loads(pickle.dumps(ProgType.XDP)) is ProgType.XDP
