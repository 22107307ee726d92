"""``pybpf`` entry point: one subcommand per module, imported only when used.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``.
A ``PybpfError`` becomes one line on stderr and its exit code; no traceback.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

# subcommand -> (module under pybpf.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "asm": ("asm_cmd", "assemble a .s file into eBPF bytecode"),
    "disasm": ("disasm_cmd", "disassemble eBPF bytecode or an object file"),
    "run": ("run_cmd", "run a program in the userspace vm (or the kernel with --backend kernel)"),
    "verify": ("verify_cmd", "statically verify a program"),
    "trace": ("trace_cmd", "run a bpftrace-compatible tracing script"),
    "load": ("load_cmd", "load a clang-built CO-RE object, attach it, stream its events"),
    "prog": ("prog_cmd", "list, show and dump loaded kernel programs (like bpftool prog)"),
    "map": ("map_cmd", "list, show and dump kernel maps (like bpftool map)"),
    "link": ("link_cmd", "list kernel links (like bpftool link)"),
    "btf": ("btf_cmd", "dump kernel BTF types"),
    "feature": ("feature_cmd", "probe what this kernel supports"),
    "tracepoints": ("tracepoints_cmd", "list tracepoints matching a glob"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, str | None]:
    import argparse

    from ._formatter import Formatter as _Formatter

    parser = argparse.ArgumentParser(prog="pybpf", description="The eBPF system in pure Python.",
                                     formatter_class=_Formatter)
    parser.add_argument("-V", "--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only import the module of the subcommand actually asked for, and when it comes
    # first, only build its parser (each costs argparse's gettext lookups): start-up
    # matters. `pybpf`, `pybpf -h` and mistakes get the full list.
    chosen = next((a for a in argv if a in COMMANDS), None)
    names = [chosen] if chosen is not None and argv[0] == chosen else list(COMMANDS)
    for name in names:
        help_text = COMMANDS[name][1]
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=_Formatter)
        if name == chosen:
            _module(name).add_arguments(p)
    return parser, chosen


def _module(name: str):  # type: ignore[no-untyped-def]
    return __import__(f"pybpf.cli.{COMMANDS[name][0]}", fromlist=["_"])  # not importlib


def main(argv: list[str] | None = None) -> int:
    from ..errors import PybpfError

    argv = sys.argv[1:] if argv is None else argv
    args: Any = None
    if argv and argv[0] == "trace":  # the one-liner path: no argparse unless needed
        from .trace_cmd import fast_args

        args = fast_args(argv[1:])
    if args is None:
        parser, _chosen = build_parser(argv)
        args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"pybpf {__version__}")
        return 0
    if not args.command:
        build_parser([])[0].print_help()
        return 2
    try:
        return int(_module(args.command).run(args) or 0)
    except PybpfError as e:
        print(f"pybpf {args.command}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"pybpf {args.command}: {e.strerror or e}"
              + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
