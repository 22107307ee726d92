"""Look up a program, map or variable of an object by name, or say which names exist."""

from __future__ import annotations

from ..errors import PybpfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TypeVar

    V = TypeVar("V")


def named(table: Mapping[str, V], name: str, what: str, where: str) -> V:
    """``table[name]``; else a one-line ``PybpfError`` at ``where`` listing the names there are."""
    try:
        return table[name]
    except KeyError:
        have = ", ".join(sorted(table)) or "none"
        raise PybpfError(f"{where}: no {what} {name!r} (have: {have})") from None
