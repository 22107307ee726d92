"""Compile errors printed exactly as bpftrace prints them.

bpftrace reports ``FILE:LINE:COL-COL: ERROR: message``, then the source line,
then a ``~`` underline of the span; scripts from ``-e`` or stdin are named
``stdin``. Keeping the format identical lets people switch tools without
relearning how to read errors.
"""

from __future__ import annotations

from .._record import dataclass
from ..errors import PybpfError


@dataclass(frozen=True, slots=True)
class Loc:
    """A 1-based source span; ``end_col`` is exclusive, as bison counts it."""

    line: int
    col: int
    end_line: int
    end_col: int

    def to(self, other: Loc) -> Loc:
        """The span from the start of ``self`` to the end of ``other``."""
        return Loc(self.line, self.col, other.end_line, other.end_col)


NOLOC = Loc(1, 1, 1, 1)


def format_diagnostic(filename: str, source: str, loc: Loc | None, message: str,
                      kind: str = "ERROR") -> str:
    """One diagnostic in bpftrace's layout (with source line and underline when one line)."""
    if loc is None:
        return f"{kind}: {message}"
    if loc.end_line > loc.line:
        return f"{filename}:{loc.line}-{loc.end_line}: {kind}: {message}"
    lines = source.split("\n")
    text = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
    width = max(min(loc.end_col, len(text) + 1) - loc.col, 0)
    head = f"{filename}:{loc.line}:{loc.col}-{loc.end_col}: {kind}: {message}"
    return f"{head}\n{text}\n{' ' * (loc.col - 1)}{'~' * width}"


class CompileError(PybpfError):
    """A script the compiler rejects; ``text`` holds the bpftrace-format diagnostics."""

    exit_code = 1

    def __init__(self, text: str, message: str = "") -> None:
        super().__init__(message or text.split("\n", 1)[0])
        self.text = text


class Diagnostics:
    """Collects errors for one source so a pass can report several before stopping."""

    def __init__(self, filename: str, source: str) -> None:
        self.filename = filename
        self.source = source
        self.errors: list[str] = []

    def error(self, loc: Loc | None, message: str) -> None:
        self.errors.append(format_diagnostic(self.filename, self.source, loc, message))

    def fail(self, loc: Loc | None, message: str) -> CompileError:
        """Record an error and return the exception carrying everything so far."""
        self.error(loc, message)
        return self.exception()

    def exception(self) -> CompileError:
        return CompileError("\n".join(self.errors))

    def check(self) -> None:
        if self.errors:
            raise self.exception()
