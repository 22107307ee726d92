"""``pybpf asm FILE.s``: assemble text into raw eBPF bytecode (8 bytes a slot, little-endian)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import BadInput, PybpfError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.s", help="assembly source ('-' reads stdin)")
    parser.add_argument("-o", "--output", metavar="FILE.bin",
                        help="where to write the bytecode (default: FILE.bin next to the "
                             "source; stdout when reading stdin; '-' for stdout)")
    parser.add_argument("--hex", action="store_true",
                        help="print the bytecode as hex, one 8-byte slot a line, instead")
    parser.add_argument("--allow-invalid", action="store_true",
                        help="keep instructions RFC 9669 forbids and registers r11-r15 "
                             "(for negative tests)")


def run(args: argparse.Namespace) -> int:
    from ..asm.assembler import assemble
    from ..asm.insn import encode

    if args.file == "-":
        raw, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        raw, name = Path(args.file).read_bytes(), args.file
    try:
        text = raw.decode()
    except UnicodeDecodeError as e:
        raise BadInput(f"{name}: not a text file ({e.reason}); "
                       "did you mean 'pybpf disasm'?") from None
    insns = assemble(text, name, strict=not args.allow_invalid)
    raw = encode(insns)
    if args.hex:
        for off in range(0, len(raw), 8):
            print(raw[off:off + 8].hex())
        return 0
    out = args.output
    if out is None:
        out = "-" if args.file == "-" else str(Path(args.file).with_suffix(".bin"))
    if out == "-":
        if sys.stdout.isatty():
            raise PybpfError("refusing to write bytecode to a terminal: give -o FILE or --hex")
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return 0
    if args.file != "-" and Path(out).resolve() == Path(args.file).resolve():
        raise PybpfError(f"{out}: output would overwrite the source; give -o FILE")
    Path(out).write_bytes(raw)
    print(f"{out}: {len(insns)} instructions ({len(raw)} bytes)")
    return 0
