"""``pybpf run``: run an assembly (.s) or raw bytecode (.bin) program and print r0.

Output: ``r0 = <unsigned decimal> (0x<hex>)`` on the last line. With ``--trace``
each executed instruction is printed first as ``<index>: <instruction>`` followed
by the registers it changed (``r0=0x2a``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import BadInput, PybpfError
from ..spec import ProgramSpec
from ..uapi import ProgType

TYPES = {
    "raw": ProgType.UNSPEC,
    "xdp": ProgType.XDP,
    "socket_filter": ProgType.SOCKET_FILTER,
    "sched_cls": ProgType.SCHED_CLS,
    "kprobe": ProgType.KPROBE,
    "tracepoint": ProgType.TRACEPOINT,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Prints 'r0 = DECIMAL (0xHEX)'. For --type raw, r1 points at the memory "
                     "(--mem/--ctx-file) and r2 holds its length; for xdp and socket_filter "
                     "the memory is the packet (a socket filter sees it after the 14-byte "
                     "Ethernet header, as in the kernel's test run).")
    parser.add_argument("file", help="program: assembly text (.s) or raw bytecode (.bin/.o)")
    mem = parser.add_mutually_exclusive_group()
    mem.add_argument("--mem", metavar="HEX", help="input memory as hex bytes (spaces allowed)")
    mem.add_argument("--ctx-file", metavar="F", help="input memory from a file")
    parser.add_argument("--type", choices=sorted(TYPES), default="raw",
                        help="program type: raw context (default), xdp, socket_filter, ...")
    parser.add_argument("--trace", action="store_true",
                        help="print each executed instruction and the registers it changed")
    parser.add_argument("--budget", type=int, default=None, metavar="N",
                        help="stop after N executed instructions (default 1000000)")
    parser.add_argument("--backend", choices=("vm", "kernel"), default="vm",
                        help="run in the userspace vm (default) or the kernel (BPF_PROG_RUN)")


def load_program(path: str, ptype: ProgType) -> ProgramSpec:
    """A ProgramSpec from a .s file (assembled) or raw little-endian bytecode."""
    p = Path(path)
    if not p.exists():
        raise PybpfError(f"{path}: no such file")
    raw = p.read_bytes()
    if p.suffix in (".s", ".asm", ".S") or _looks_like_text(raw):
        from ..asm.assembler import assemble_program

        asm = assemble_program(raw.decode(errors="replace"), path)
        return ProgramSpec(p.stem, ptype, asm.insns, map_refs=list(asm.map_refs),
                           source_map=dict(asm.source_map))
    from ..asm.insn import decode

    try:
        insns = decode(raw)
    except BadInput as e:
        raise BadInput(f"{path}: {e}") from None
    return ProgramSpec(p.stem, ptype, insns)


def _looks_like_text(raw: bytes) -> bool:
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def parse_hex(text: str) -> bytes:
    cleaned = "".join(text.split()).removeprefix("0x")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise BadInput(f"--mem: {text!r} is not hex bytes (write e.g. '01 02 ff')") from None


def _formatter(spec: ProgramSpec):  # type: ignore[no-untyped-def]
    from ..asm.disasm import format_insn

    insns = spec.insns

    def fmt(idx: int) -> str:
        ins = insns[idx]
        nxt = insns[idx + 1] if ins.is_wide and idx + 1 < len(insns) else None
        try:
            return str(format_insn(ins, nxt, index=idx))
        except Exception:  # noqa: BLE001 - fall back to the raw encoding
            pass
        return f".insn 0x{ins.opcode:02x}, {ins.dst}, {ins.src}, {ins.off}, {ins.imm}"

    return fmt


def run(args: argparse.Namespace) -> int:
    ptype = TYPES[args.type]
    spec = load_program(args.file, ptype)
    if args.mem is not None:
        mem = parse_hex(args.mem)
    elif args.ctx_file is not None:
        mem = Path(args.ctx_file).read_bytes()
    else:
        mem = b""
    packet = ptype in (ProgType.XDP, ProgType.SOCKET_FILTER, ProgType.SCHED_CLS)
    if args.backend == "kernel":
        from ..kernel.programs import load_program as kload

        prog = kload(spec)
        try:
            res = prog.test_run(mem) if packet else prog.test_run(ctx=mem or None)
        finally:
            prog.close()
        r0 = res.retval
    else:
        from ..vm import DEFAULT_BUDGET, VmProgram

        out = sys.stdout
        fmt = _formatter(spec)

        def trace(idx: int, _ins: object, changed: dict[int, int]) -> None:
            regs = " ".join(f"r{r}=0x{v:x}" for r, v in sorted(changed.items()))
            out.write(f"{idx:5}: {fmt(idx):<40} {regs}".rstrip() + "\n")

        prog_vm = VmProgram(spec, budget=args.budget or DEFAULT_BUDGET,
                            trace=trace if args.trace else None)
        r0 = prog_vm.run(b"", mem, pull_l2=True) if packet else prog_vm.run(bytearray(mem))
        for line in prog_vm.printk:
            out.write(f"trace_printk: {line.rstrip()}\n")
    print(f"r0 = {r0} (0x{r0:x})")
    return 0
