"""``pybpf link list|show ID``: kernel links, like bpftool link."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", "show"],
                        help="what to do (default: list)")
    parser.add_argument("words", nargs="*", help="[id] ID")
    parser.add_argument("-j", "--json", action="store_true", help="JSON output")
    parser.add_argument("-p", "--pretty", action="store_true", help="indented JSON output")


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
