"""argparse's help formatter without ``shutil``: argparse makes one per ``add_argument``
and its width lookup imports shutil (with zlib, bz2, lzma: ~1.5 ms of start-up). The width
is shutil.get_terminal_size's: $COLUMNS, else the terminal's, else 80."""

from __future__ import annotations

import argparse
import os
import sys


class Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    try:
        cols = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        cols = 0
    if cols <= 0:
        try:
            cols = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            cols = 0
    return cols or 80
