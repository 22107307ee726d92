"""`pybpf trace`: run a bpftrace script on the kernel, with bpftrace's flags and output.

    pybpf trace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
    pybpf trace script.bt [ARGS...]          (``-`` reads the script from stdin)
    pybpf trace -l 'tracepoint:syscalls:*'   (``-lv``: with each tracepoint's arguments)

OWNED BY THE TRACE-RUNTIME ENGINEER (pybpf/lang/session.py is the runtime).
Compile errors are printed exactly as the compiler formats them (bpftrace's
layout), exit 1; runtime errors are one line, exit 1, with nothing left
attached. Only what a one-liner needs is imported: start-up is measured.
"""

from __future__ import annotations

import sys

from ..errors import BadInput, PybpfError

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace
    from typing import Any, TextIO


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-e", dest="program", metavar="PROG", help="the script text")
    p.add_argument("-l", dest="list", action="store_true",
                   help="list probes (matching the glob given as FILE)")
    p.add_argument("-p", dest="pid", type=int, default=-1, metavar="PID",
                   help="uprobes/usdt in this process only; end when it exits")
    p.add_argument("-c", dest="cmd", metavar="CMD",
                   help="run CMD (held until the probes are attached); end when it exits")
    p.add_argument("-f", dest="format", choices=("text", "json"), default="text",
                   help="output format")
    p.add_argument("-o", dest="output", metavar="FILE", help="write the output to FILE")
    p.add_argument("-q", dest="quiet", action="store_true", help="no 'Attached' line")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="verbose: verifier statistics; with -l, probe arguments")
    p.add_argument("-B", dest="buffering", choices=("none", "line", "full"), default=None,
                   help="output buffering mode")
    p.add_argument("-d", dest="debug", action="count", default=0,
                   help="debug dry run: the AST, each probe's instructions, the verifier log")
    p.add_argument("--unsafe", action="store_true", help="allow unsafe builtins (system)")
    p.add_argument("--dry-run", action="store_true",
                   help="compile and load (the verifier runs) but attach nothing")
    p.add_argument("--info", action="store_true", help="print what this system supports")
    p.add_argument("-V", dest="trace_version", action="store_true", help="print the version")
    p.add_argument("--compat", choices=("0.17",), default=None,
                   help="reproduce bpftrace 0.17's output byte for byte")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="script file ('-' for stdin); with -l, a probe glob")
    p.add_argument("args", nargs="*", metavar="ARG", help="positional parameters $1, $2...")


# bpftrace's flags for the fast path below: short flag -> (dest, takes a value)
_SHORT = {"e": ("program", True), "l": ("list", False), "p": ("pid", True),
          "c": ("cmd", True), "f": ("format", True), "o": ("output", True),
          "q": ("quiet", False), "v": ("verbose", False), "B": ("buffering", True),
          "d": ("debug", False), "V": ("trace_version", False)}
_LONG = {"--unsafe": "unsafe", "--dry-run": "dry_run", "--info": "info"}
_CHOICES = {"format": ("text", "json"), "buffering": ("none", "line", "full"),
            "compat": ("0.17",)}


def fast_args(argv: list[str]) -> SimpleNamespace | None:
    """``add_arguments``'s options parsed without argparse (whose import, with gettext
    and locale, is ~3 ms of every run); None for anything unusual (help, a mistake, an
    unknown option, a value that needs checking), which argparse then parses and
    reports as it always has."""
    from types import SimpleNamespace

    ns = SimpleNamespace(command="trace", version=False, program=None, list=False, pid=-1,
                         cmd=None, format="text", output=None, quiet=False, verbose=False,
                         buffering=None, debug=0, unsafe=False, dry_run=False, info=False,
                         trace_version=False, compat=None, file=None, args=[])
    positional: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            positional.extend(argv[i:])
            break
        if a.startswith("-") and len(a) > 1 and positional:
            return None  # an option after FILE: argparse's rules for what follows
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if name in _LONG and not eq:
                setattr(ns, _LONG[name], True)
            elif name == "--compat":
                if not eq:
                    if i >= len(argv):
                        return None
                    value, i = argv[i], i + 1
                ns.compat = value
            else:
                return None
        elif a.startswith("-") and len(a) > 1:
            for k, ch in enumerate(a[1:], 1):
                opt = _SHORT.get(ch)
                if opt is None:
                    return None
                dest, takes = opt
                if not takes:
                    if dest == "debug":
                        ns.debug += 1
                    else:
                        setattr(ns, dest, True)
                    continue
                value = a[k + 1:]
                if not value:
                    if i >= len(argv):
                        return None
                    value, i = argv[i], i + 1
                setattr(ns, dest, value)
                break
        else:
            positional.append(a)
    for dest, allowed in _CHOICES.items():
        value = getattr(ns, dest)
        if value is not None and value not in allowed:
            return None
    if isinstance(ns.pid, str):
        if not ns.pid.lstrip("-").isdigit():
            return None
        ns.pid = int(ns.pid)
    if positional:
        ns.file, ns.args = positional[0], positional[1:]
    return ns


def run(args: argparse.Namespace) -> int:
    if args.trace_version:
        from .. import __version__

        print(f"pybpf trace v{__version__} (bpftrace v0.17 compatible)")
        return 0
    if args.info:
        from ..lang.traceinfo import info_text

        sys.stdout.write(info_text())
        return 0
    if args.list:
        from ..lang.probelist import list_probes

        sys.stdout.write(list_probes(args.program or args.file or "*", verbose=args.verbose))
        return 0
    source, filename, params = _script(args)
    out, close_out = _output(args)
    try:
        return _trace(args, source, filename, params, out)
    finally:
        if close_out:
            out.close()


def _script(args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """(source, filename for errors, positional parameters)."""
    positional = ([args.file] if args.file is not None else []) + list(args.args)
    if args.program is not None:
        return args.program, "stdin", positional
    if not positional:
        raise BadInput("no program given: use -e 'PROGRAM', a script FILE or - for stdin")
    path, params = positional[0], positional[1:]
    if path == "-":
        return sys.stdin.read(), "stdin", params
    try:
        with open(path) as f:
            return f.read(), path, params
    except OSError as e:
        raise PybpfError(f"{path}: {e.strerror} (give a readable script file)") from None


def _output(args: argparse.Namespace) -> tuple[TextIO, bool]:
    if args.output:
        try:
            return open(args.output, "w", buffering=1), True  # noqa: SIM115 - closed by run()
        except OSError as e:
            raise PybpfError(f"-o {args.output}: {e.strerror}") from None
    if args.buffering in ("none", "line") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    return sys.stdout, False


def _trace(args: argparse.Namespace, source: str, filename: str, params: list[str],
           out: TextIO) -> int:
    from ..lang.errors import CompileError

    prep = None
    if not (args.debug or args.dry_run):  # the ring is created while the script compiles
        from ..lang.ringprep import RingPrep
        from ..lang.script import RINGBUF
        from ..lang.session import _ring_size_default

        prep = RingPrep(RINGBUF, _ring_size_default())
    try:
        try:
            if args.debug:
                from ..lang.astdump import dump
                from ..lang.parser import parse

                out.write("AST\n" + dump(parse(source, filename)) + "\n")
            from ..lang.scriptcache import lookup, script_key, store

            key = None if args.debug else script_key(source, filename, params, args.unsafe,
                                                     bool(args.cmd))
            script = lookup(key)
            if script is None:
                from ..lang.expand import compile_for_kernel

                script = compile_for_kernel(source, filename, unsafe=args.unsafe,
                                            params=params, child=bool(args.cmd))
                store(key, script)
        except CompileError as e:
            sys.stderr.write(e.text.rstrip("\n") + "\n")
            return 1
        if args.debug:
            _print_programs(script, out)
        return _session(args, script, out, prep)
    finally:
        if prep is not None:
            prep.discard()  # not taken (a compile error, BEGIN/END only): close it


def _session(args: argparse.Namespace, script: Any, out: TextIO, prep: Any = None) -> int:
    from ..lang.session import KernelSession

    log_level = 2 if args.debug else (4 if args.verbose else 0)
    child = None
    if args.cmd:
        import shlex

        child = shlex.split(args.cmd)
    dry = bool(args.dry_run or args.debug)  # bpftrace's -d is a dry run too
    sess = KernelSession(script, out, fmt=args.format, compat=args.compat, quiet=args.quiet,
                         pid=args.pid, child=None if dry else child, unsafe=args.unsafe,
                         log_level=log_level, flush=args.buffering != "full",
                         ring_prep=prep)
    if dry or args.verbose:
        try:
            sess.load()
        except BaseException:
            sess.close()
            raise
        for name, prog in sess.coll.programs.items():
            log = prog.verifier_log or ""
            if args.debug:
                out.write(f"\nVerifier log of {name}:\n{log}")
            elif args.verbose:
                last = log.strip().splitlines()[-1:] or [""]
                sys.stderr.write(f"{name}: {last[0]}\n")
        if dry:
            sess.close()
            return 0
    return sess.run()


def _print_programs(script: Any, out: TextIO) -> None:
    from ..asm.disasm import disassemble

    for meta in script.programs:
        ps = script.spec.programs[meta.name]
        out.write(f"\n{meta.probe.name} ({meta.name}, {len(ps.insns)} insns):\n")
        out.write(disassemble(ps.insns, map_refs=ps.map_refs))
