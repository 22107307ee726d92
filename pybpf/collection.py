"""Live programs and maps from one CollectionSpec, in either backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from .mapapi import Map
from .spec import ProgramSpec


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


class Collection:
    """Programs and maps by name; closing it closes everything it owns."""

    def __init__(self, programs: dict[str, Any], maps: dict[str, Map]) -> None:
        self.programs = programs
        self.maps = maps

    def close(self) -> None:
        for p in self.programs.values():
            p.close()
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
