"""pybpf._record behaves like dataclasses for the options the code base uses."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from typing import Any

import pytest

from pybpf import _record


def _pair(frozen: bool, slots: bool) -> list[type]:
    """The same class built by dataclasses and by _record."""
    out = []
    for dc, fl in ((dataclasses.dataclass, dataclasses.field), (_record.dataclass, _record.field)):
        class P:
            x: int
            y: str = "a"
            z: list[int] = fl(default_factory=list)

            def total(self) -> int:
                return self.x + len(self.z)

        out.append(dc(frozen=frozen, slots=slots)(P))
    return out


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("slots", [False, True])
def test_same_behaviour_as_dataclasses(frozen: bool, slots: bool) -> None:
    ref, ours = _pair(frozen, slots)
    for cls in (ref, ours):
        a, b = cls(1, "b", [2, 3]), cls(1, "b", [2, 3])
        assert a == b and a != cls(2) and a.total() == 3
        assert cls(5).z == [] and cls(5).z is not cls(5).z  # a fresh default each time
        assert cls.__match_args__ == ("x", "y", "z")  # type: ignore[attr-defined]
        assert hasattr(a, "__dict__") is (not slots)
    want = "_pair.<locals>.P(x=1, y='b', z=[2])"
    assert repr(ours(1, "b", [2])) == repr(ref(1, "b", [2])) == want
    assert (ours.__hash__ is None) is (ref.__hash__ is None)


def test_frozen_hash_copy_pickle() -> None:
    @_record.dataclass(frozen=True, slots=True)
    class F:
        a: int
        b: tuple[int, ...] = ()

    f = F(3, (1, 2))
    assert hash(f) == hash(F(3, (1, 2))) and {f: 1}[F(3, (1, 2))] == 1
    with pytest.raises(AttributeError):
        f.a = 4  # type: ignore[misc]
    assert copy.copy(f) == f and copy.deepcopy(f) == f
    assert _record.replace(f, a=9) == F(9, (1, 2))


def test_subclass_inherits_fields() -> None:
    @_record.dataclass(slots=True)
    class Base:
        a: int = 1

    @_record.dataclass(slots=True)
    class Sub(Base):
        b: dict[str, Any] = _record.field(default_factory=dict)

    s = Sub(5, {"k": 1})
    assert (s.a, s.b) == (5, {"k": 1}) and Sub() == Sub(1, {})
    assert repr(s) == "test_subclass_inherits_fields.<locals>.Sub(a=5, b={'k': 1})"


def test_trace_start_up_imports_neither_dataclasses_nor_typing() -> None:
    """The modules `pybpf trace` imports before attaching stay off the heavy stdlib."""
    code = ("import sys; import pybpf.cli.main, pybpf.cli.trace_cmd, pybpf.lang.expand, "
            "pybpf.lang.session, pybpf.kernel.collection, pybpf.kernel.links.tracepoint; "
            "print(sorted({'dataclasses', 'inspect', 'typing', 'shutil'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pickle_round_trip() -> None:
    rec = _record.replace  # module-level classes pickle by name: use one from the code base
    from pybpf.spec import SourceLoc

    loc = SourceLoc(*[1] * len(SourceLoc.__match_args__))  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(loc)) == loc and rec(loc) == loc
