"""Live programs and maps from one CollectionSpec, in either backend."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ._record import dataclass
from .errors import PybpfError
from .mapapi import Map
from .spec import ProgramSpec

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


@dataclass(slots=True)
class RunResult:
    """What one test run of a program gives back (BPF_PROG_RUN's outputs)."""

    retval: int
    data_out: bytes = b""
    ctx_out: bytes = b""
    duration_ns: int = 0  # mean per repetition


class Program(ABC):
    """A loaded program. ``test_run`` runs it once (or ``repeat`` times) on given input."""

    name: str
    spec: ProgramSpec

    @abstractmethod
    def test_run(
        self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1
    ) -> RunResult: ...

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release the program."""


class NotInCollection(PybpfError, KeyError):
    """``coll.programs[name]`` / ``coll.maps[name]`` for a name the collection lacks."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Named(dict[str, "Any"]):  # quoted: typing is not imported at run time
    """A dict of programs or maps whose missing keys name what there is."""

    def __init__(self, what: str, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.what = what

    def __missing__(self, name: str) -> Any:
        have = ", ".join(sorted(self)) or "none"
        raise NotInCollection(f"no {self.what} {name!r} in the collection (have: {have})")


class Collection:
    """Programs and maps by name; closing it closes everything it owns."""

    def __init__(self, programs: dict[str, Any], maps: dict[str, Map]) -> None:
        self.programs: dict[str, Any] = Named("program", programs)
        self.maps: dict[str, Map] = Named("map", maps)

    def close(self) -> None:
        for p in self.programs.values():
            p.close()
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
