"""``pybpf`` entry point: one subcommand per module, imported only when used.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``.
A ``PybpfError`` becomes one line on stderr and its exit code; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

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


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter without ``shutil``: argparse makes one per ``add_argument``
    and its width lookup imports shutil (with zlib, bz2, lzma: ~1.5 ms of start-up).
    The width is shutil.get_terminal_size's: $COLUMNS, else the terminal's, else 80."""

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


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, str | None]:
    parser = argparse.ArgumentParser(prog="pybpf", description="The eBPF system in pure Python.",
                                     formatter_class=_Formatter)
    parser.add_argument("-V", "--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only import the module of the subcommand actually asked for: start-up matters.
    chosen = next((a for a in argv if a in COMMANDS), None)
    for name, (_mod, help_text) in COMMANDS.items():
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
    parser, chosen = build_parser(argv)
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"pybpf {__version__}")
        return 0
    if not args.command:
        parser.print_help()
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
