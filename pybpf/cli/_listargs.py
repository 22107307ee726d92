"""The arguments ``prog``, ``map`` and ``link`` share (bpftool's ``ACTION [WORDS] [-j|-p]``).

Kept apart from ``_bpftool`` so building the parser does not import the kernel backend.
"""

from __future__ import annotations

import argparse


def add_list_arguments(parser: argparse.ArgumentParser, actions: list[str],
                       words_help: str) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=actions,
                        help="what to do (default: list)")
    parser.add_argument("words", nargs="*", help=words_help)
    parser.add_argument("-j", "--json", action="store_true", help="JSON output")
    parser.add_argument("-p", "--pretty", action="store_true", help="indented JSON output")
