"""The exception every user-facing error derives from.

Nothing below the CLI prints or exits; the CLI turns a ``PybpfError`` into one
line (``pybpf: <where>: <what>``) and an exit code.
"""

from __future__ import annotations


class PybpfError(Exception):
    """A user error: bad input, missing privilege, unknown probe. The message is one line."""

    exit_code = 1


class BadInput(PybpfError):
    """Malformed input (instruction bytes, assembly text, object file, map key)."""

    exit_code = 2
