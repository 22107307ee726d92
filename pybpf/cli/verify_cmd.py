"""``pybpf verify FILE``: statically verify a program; exit 0 accepted, 1 rejected, 2 bad input."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.s|FILE.bin|FILE.o",
                        help="assembly (with optional '; type:' and '; map:' lines), raw "
                             "bytecode, or a clang-built BPF object")
    parser.add_argument("--section", metavar="S",
                        help="section (or program name) of a clang-built object to verify")
    parser.add_argument("--type", metavar="TYPE",
                        help="program type: xdp, socket, tc, kprobe, tracepoint, ... "
                             "(default: the file's '; type:' line, else socket)")
    parser.add_argument("--log", action="store_true",
                        help="also print every instruction processed with the registers it "
                             "reads, and the statistics of the run")
    parser.add_argument("--unprivileged", action="store_true",
                        help="check as for an unprivileged user (no loops, no pointer leaks)")


def run(args: argparse.Namespace) -> int:
    from ..verifier import verify
    from ..verifier.source import load_file

    prog = load_file(args.file, args.type, args.section)
    verdict = verify(prog.spec, maps=prog.maps, privileged=not args.unprivileged,
                     strict_stack=prog.strict, log=args.log)
    for line in verdict.log:
        print(line)
    name = f"{args.file} ({prog.spec.type.name.lower()}, {len(prog.spec.insns)} insns)"
    if verdict.accepted:
        print(f"{name}: accepted")
    else:
        print(f"{name}: rejected")
        for e in verdict.errors:
            print(str(e))
    if args.log:
        s = verdict.stats
        print(f"processed {s.get('insns_processed', 0)} insns, {s.get('states', 0)} states "
              f"kept, peak {s.get('peak_states', 0)} pending paths, stack depth "
              f"{s.get('stack_depth', 0)}, verification time {s.get('time_us', 0)} usec")
    return 0 if verdict.accepted else 1
