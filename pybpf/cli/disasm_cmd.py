"""``pybpf disasm FILE.bin``: print raw eBPF bytecode as bpftool does, or as re-assemblable asm."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from ..errors import BadInput, PybpfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

ELF_MAGIC = b"\x7fELF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="raw bytecode or an object file ('-' reads stdin)")
    parser.add_argument("--syntax", choices=("kernel", "asm"), default="kernel",
                        help="kernel: like 'bpftool prog dump xlated' (default); "
                             "asm: uBPF mnemonics that 'pybpf asm' reads back")
    parser.add_argument("--labels", action="store_true",
                        help="name jump and call targets (LBB0_1, sub_7) instead of pc+N")
    parser.add_argument("--opcodes", action="store_true",
                        help="also print each instruction's bytes (kernel syntax)")
    parser.add_argument("--no-validate", action="store_true",
                        help="print instructions RFC 9669 forbids as '.insn' lines "
                             "instead of stopping at the first one")


def run(args: argparse.Namespace) -> int:
    from ..asm.disasm import disassemble, disassemble_bytes

    if args.file == "-":
        raw, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        name = args.file
        raw = Path(name).read_bytes()
    options: dict[str, Any] = {"labels": args.labels, "opcodes": args.opcodes}
    if raw[:4] == ELF_MAGIC:
        for title, insns, refs, source in _object_programs(name, raw):
            print(f"{title}:")
            text = disassemble(insns, args.syntax, map_refs=refs, **options)
            if args.syntax == "kernel" and source:
                text = with_source_lines(text, source)
            sys.stdout.write(text)
        return 0
    if not raw:
        raise BadInput(f"{name}: the file is empty (no instructions)")
    try:
        text = disassemble_bytes(raw, args.syntax, validate=not args.no_validate, **options)
    except BadInput as e:
        from .run_cmd import looks_like_text

        hint = "; it looks like assembly text: use 'pybpf asm'" if looks_like_text(raw) else ""
        raise BadInput(f"{name}: {e}{hint}") from None
    sys.stdout.write(text)
    if len(raw) % 8:  # only reached with --no-validate: say what was not shown
        sys.stdout.flush()
        print(f"pybpf disasm: {name}: note: {len(raw) % 8} trailing bytes after the last "
              "8-byte instruction were not shown", file=sys.stderr)
    return 0


def with_source_lines(text: str, source: dict[int, Any]) -> str:
    """Put ``; <C source> @ file:line`` above the first instruction of each source line,
    as ``bpftool prog dump xlated linum`` does, from the object's BTF line info."""
    out: list[str] = []
    last = None
    for line in text.splitlines(keepends=True):
        head = line.split(":", 1)[0].strip()
        loc = source.get(int(head)) if head.isdigit() else None
        if loc is not None and (loc.file, loc.line) != last:
            last = (loc.file, loc.line)
            out.append(f"; {loc.text.strip()} @ {loc.file}:{loc.line}\n")
        out.append(line)
    return "".join(out)


def _object_programs(name: str, raw: bytes) -> list[tuple[str, list[Any], list[Any], Any]]:
    """Programs of an ELF object, through the object loader (``pybpf.elf``) when it exists."""
    try:
        elf = importlib.import_module("pybpf.elf")
    except ImportError:
        elf = None
    load = getattr(elf, "load_collection_spec", None) if elf is not None else None
    if load is None:
        raise PybpfError(
            f"{name} is an ELF object file: disassembling objects needs the object loader "
            "(pybpf.elf), which is not available; extract the program bytes or use "
            "llvm-objdump -d"
        )
    spec = load(name)
    return [(f"{p.name} ({p.section})" if p.section else p.name, p.insns, p.map_refs,
             p.source_map) for p in spec.programs.values()]
