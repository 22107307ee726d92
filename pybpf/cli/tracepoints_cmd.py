"""``pybpf tracepoints [GLOB] [-v] [--json]``: list tracepoints like ``bpftrace -l``.

``GLOB`` is ``category:name`` with shell wildcards (``syscalls:sys_enter_*``), with or
without the ``tracepoint:`` prefix; ``-v`` prints each one's arguments as
``bpftrace -lv`` does.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", default="*",
                        help="glob: category:name, e.g. 'syscalls:sys_enter_*' (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each one's fields")
    parser.add_argument("-j", "--json", action="store_true", help="JSON output")
    parser.add_argument("-c", "--count", action="store_true", help="print only how many match")


def run(args: argparse.Namespace) -> int:
    from ..kernel import tracefs

    pattern = args.pattern
    if pattern.startswith("tracepoint:") or pattern.startswith("t:"):
        pattern = pattern.split(":", 1)[1]
    names = tracefs.list_tracepoints(pattern)
    out = sys.stdout
    if args.count:
        out.write(f"{len(names)}\n")
        return 0 if names else 1
    if args.json:
        import json

        rows = []
        for n in names:
            row: dict[str, object] = {"name": f"tracepoint:{n}"}
            if args.verbose:
                fmt = tracefs.tracepoint_format(n)
                row["id"] = fmt.id
                row["fields"] = [{"name": f.name, "type": f.type, "offset": f.offset,
                                  "size": f.size, "signed": f.signed, "data_loc": f.data_loc}
                                 for f in fmt.args]
            rows.append(row)
        out.write(json.dumps(rows) + "\n")
        return 0 if names else 1
    for n in names:
        out.write(f"tracepoint:{n}\n")
        if args.verbose:
            for f in tracefs.tracepoint_format(n).args:
                out.write(f"    {f.decl or f.type + ' ' + f.name}\n")
    return 0 if names else 1
