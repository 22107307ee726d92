"""``pybpf prog list|show ID|dump [xlated] ID [opcodes]``: loaded kernel programs, like bpftool."""

from __future__ import annotations

import argparse
import sys

from ._listargs import add_list_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_list_arguments(parser, ["list", "show", "dump"],
                       "[id] ID | pinned PATH; for dump: [xlated] ID [opcodes] [linum]")


def run(args: argparse.Namespace) -> int:
    from ..kernel import info
    from . import _bpftool as fmt

    as_json = args.json or args.pretty
    out = sys.stdout
    if args.action == "dump":
        words = [w for w in args.words if w not in ("xlated", "opcodes", "linum")]
        if "jited" in words:
            from ..errors import BadInput

            raise BadInput("prog dump: only `xlated` is supported (no JIT disassembler)")
        pid = fmt.parse_id(words, "prog dump")
        d = info.prog_by_id(pid, xlated=True)
        opcodes, linum = "opcodes" in args.words, "linum" in args.words
        if as_json:
            out.write(fmt.dumps(fmt.xlated_json(d, opcodes, linum), args.pretty) + "\n")
        else:
            out.write(fmt.xlated_plain(d, opcodes, linum))
        return 0
    if args.action == "show" and args.words:
        d = info.prog_by_id(fmt.parse_id(args.words, "prog show"))
        out.write(fmt.dumps(fmt.prog_json(d), args.pretty) + "\n" if as_json
                  else fmt.prog_plain(d))
        return 0
    progs = info.list_progs()
    if as_json:
        out.write(fmt.dumps([fmt.prog_json(d) for d in progs], args.pretty) + "\n")
    else:
        out.write("".join(fmt.prog_plain(d) for d in progs))
    return 0
