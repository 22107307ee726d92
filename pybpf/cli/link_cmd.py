"""``pybpf link list|show ID``: kernel links, like bpftool link."""

from __future__ import annotations

import argparse
import sys

from ._listargs import add_list_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_list_arguments(parser, ["list", "show"],
                       "[id] ID")


def run(args: argparse.Namespace) -> int:
    from ..kernel import info
    from . import _bpftool as fmt

    as_json = args.json or args.pretty
    if args.action == "show" and args.words:
        d = info.link_by_id(fmt.parse_id(args.words, "link show"))
        sys.stdout.write(fmt.dumps(fmt.link_json(d), args.pretty) + "\n" if as_json
                         else fmt.link_plain(d))
        return 0
    links = info.list_links()
    if as_json:
        sys.stdout.write(fmt.dumps([fmt.link_json(d) for d in links], args.pretty) + "\n")
    else:
        sys.stdout.write("".join(fmt.link_plain(d) for d in links))
    return 0
