"""Pausing the cyclic garbage collector around a burst of allocation.

Parsing an object or compiling a script allocates tens of thousands of objects
that live on (types, instructions, specs); the collector then runs a few dozen
times and, walking the ever larger heap, took ~10% of a fresh process's start-up
while finding almost nothing. Reference counting still frees everything that
is not in a cycle; the collector resumes (if it was on) when the block ends.
"""

from __future__ import annotations

import gc


class paused_gc:  # noqa: N801 - used like a function: ``with paused_gc():``
    __slots__ = ("_was_on",)

    def __enter__(self) -> None:
        self._was_on = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was_on:
            gc.enable()
