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
from ..mapapi import Map
from ..spec import CollectionSpec, ProgramSpec
from ..uapi import ProgType

TYPES = {
    "raw": ProgType.UNSPEC,
    "xdp": ProgType.XDP,
    "socket_filter": ProgType.SOCKET_FILTER,
    "sched_cls": ProgType.SCHED_CLS,
    "kprobe": ProgType.KPROBE,
    "tracepoint": ProgType.TRACEPOINT,
}

# Types BPF_PROG_RUN runs on a packet (kprobe/tracepoint programs cannot be test-run).
STDIN = "<stdin>"  # how a program read from '-' is named in messages
KERNEL_RUNNABLE = (ProgType.XDP, ProgType.SOCKET_FILTER, ProgType.SCHED_CLS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Prints 'r0 = DECIMAL (0xHEX)'. For --type raw, r1 points at the memory "
                     "(--mem/--ctx-file) and r2 holds its length; for xdp and socket_filter "
                     "the memory is the packet (a socket filter sees it after the 14-byte "
                     "Ethernet header, as in the kernel's test run).")
    parser.add_argument("file", help="program: assembly text (.s), raw bytecode (.bin) or "
                                     "a clang-built object (.o); '-' reads stdin")
    mem = parser.add_mutually_exclusive_group()
    mem.add_argument("--mem", metavar="HEX", help="input memory as hex bytes (spaces allowed)")
    mem.add_argument("--ctx-file", metavar="F", help="input memory from a file")
    mem.add_argument("--pcap", metavar="FILE",
                     help="the packet: the first packet of a pcap capture file")
    parser.add_argument("--type", choices=sorted(TYPES), default=None,
                        help="program type: raw context (default; an object file: its "
                             "section's type), xdp, socket_filter, ...")
    parser.add_argument("--section", metavar="SEC",
                        help="the program of an object file by its SEC() name, e.g. xdp")
    parser.add_argument("--prog", metavar="NAME",
                        help="the program of an object file to run (default: its only one)")
    parser.add_argument("--trace", action="store_true",
                        help="print each executed instruction and the registers it changed")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the static verifier (vm backend; programs of a --type are "
                             "verified before they run, raw programs are checked as they run)")
    parser.add_argument("--budget", type=int, default=None, metavar="N",
                        help="stop after N executed instructions (default 1000000)")
    parser.add_argument("--backend", choices=("vm", "kernel"), default="vm",
                        help="run in the userspace vm (default) or the kernel (BPF_PROG_RUN)")


def load_program(path: str, ptype: ProgType) -> ProgramSpec:
    """A ProgramSpec from a .s file (assembled) or raw little-endian bytecode."""
    p = Path(path)
    if path == "-":
        raw, p, path = sys.stdin.buffer.read(), Path("stdin"), STDIN
    elif not p.exists():
        raise PybpfError(f"{path}: no such file")
    else:
        raw = p.read_bytes()
    if p.suffix in (".s", ".asm", ".S") or looks_like_text(raw):
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


def looks_like_text(raw: bytes) -> bool:
    """True for UTF-8 made of printable characters and line breaks (assembly, not bytecode)."""
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


def _place(path: str, spec: ProgramSpec, index: int | None) -> str:
    """Where instruction ``index`` came from: file:line:col when the spec knows, else file."""
    loc = spec.source_map.get(index) if index is not None else None
    return str(loc) if loc is not None and loc.file == path else path


def load_collection(path: str, ptype: ProgType | None,
                    prog: str | None) -> tuple[CollectionSpec, str]:
    """The programs (and maps) of ``path`` and the name of the one to run.

    An ELF object goes through the object loader (its maps come along); ``ptype``
    overrides the type its section gave. Anything else is one program (``load_program``).
    """
    if Path(path).is_file() and Path(path).read_bytes()[:4] == b"\x7fELF":
        from ..elf import load_collection_spec

        cs: CollectionSpec = load_collection_spec(path)
        names = [n for n, p in cs.programs.items() if p.autoload]
        if prog is None:
            if len(names) != 1:
                raise BadInput(f"{path}: the object has {len(names)} programs "
                               f"({', '.join(names) or 'none'}): choose one with --prog NAME")
            prog = names[0]
        elif prog not in cs.programs:
            raise BadInput(f"{path}: no program {prog!r} (have: {', '.join(names) or 'none'})")
        for name in names:  # load only the chosen program: the others may not fit here
            cs.programs[name].autoload = name == prog
        if ptype is not None:
            cs.programs[prog].type = ptype
        return cs, prog
    if prog is not None:
        raise BadInput("--prog chooses a program of an object file; this is one program")
    spec = load_program(path, ProgType.UNSPEC if ptype is None else ptype)
    return CollectionSpec(programs={spec.name: spec}), spec.name


def program_in_section(path: str, section: str) -> str:
    """The name of the (only) program of object ``path`` in SEC(``section``)."""
    from ..elf import load_collection_spec

    if not (Path(path).is_file() and Path(path).read_bytes()[:4] == b"\x7fELF"):
        raise BadInput(f"--section chooses a program of an object file; {path} is not one")
    cs = load_collection_spec(path)
    names = [n for n, p in cs.programs.items() if p.section == section]
    if len(names) != 1:
        have = ", ".join(sorted({p.section for p in cs.programs.values()})) or "none"
        what = "no program" if not names else f"{len(names)} programs ({', '.join(names)})"
        raise BadInput(f"{path}: {what} in section {section!r} (sections: {have})"
                       + ("; choose one with --prog NAME" if names else ""))
    return names[0]


_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}  # usec and nsec


def first_pcap_packet(path: str) -> bytes:
    """The bytes of the first packet of a classic pcap file (as tcpdump -w writes it)."""
    import struct

    raw = Path(path).read_bytes()
    order = _PCAP_MAGIC.get(raw[:4])
    if order is None:
        hint = " (pcapng: convert with 'editcap -F pcap')" if raw[:4] == b"\x0a\x0d\x0d\x0a" \
            else ""
        raise BadInput(f"{path}: not a pcap capture file{hint}")
    if len(raw) < 40:
        raise BadInput(f"{path}: the capture holds no packet")
    caplen = struct.unpack_from(order + "I", raw, 24 + 8)[0]
    packet = raw[40:40 + caplen]
    if len(packet) != caplen:
        raise BadInput(f"{path}: the first packet is truncated ({len(packet)} of {caplen} bytes)")
    return packet


def run(args: argparse.Namespace) -> int:
    if args.budget is not None and args.budget < 1:
        raise BadInput(f"--budget {args.budget}: the instruction budget must be at least 1")
    prog = args.prog
    if args.section is not None:
        if prog is not None:
            raise BadInput("give --prog NAME or --section SEC, not both")
        prog = program_in_section(args.file, args.section)
    cs, name = load_collection(args.file, TYPES[args.type] if args.type else None, prog)
    spec = cs.programs[name]
    missing = sorted({r.name for r in spec.map_refs} - set(cs.maps))
    if missing:
        raise BadInput(f"{args.file}: the program uses map(s) {', '.join(missing)}, which "
                       "`pybpf run` cannot create for assembly or bytecode: define them with "
                       "MapSpec in a CollectionSpec (Python), or run an object (.o) that does")
    ptype = spec.type
    if args.backend == "kernel" and ptype not in KERNEL_RUNNABLE:
        kind = "raw" if ptype == ProgType.UNSPEC else ptype.name.lower()
        raise BadInput(f"--backend kernel cannot test-run {kind} programs "
                       "(BPF_PROG_RUN): use --type xdp, socket_filter or sched_cls, "
                       "or the vm backend")
    if args.mem is not None:
        mem = parse_hex(args.mem)
    elif args.ctx_file is not None:
        mem = Path(args.ctx_file).read_bytes()
    elif args.pcap is not None:
        mem = first_pcap_packet(args.pcap)
    else:
        mem = b""
    packet = ptype in KERNEL_RUNNABLE
    if args.backend == "kernel":
        with cs.load("kernel") as coll:
            r0 = coll.programs[name].test_run(mem).retval
    else:
        from ..vm import DEFAULT_BUDGET, VmError, VmProgram
        from ..vm.maps import create_map

        out = sys.stdout
        fmt = _formatter(spec)

        def trace(idx: int, _ins: object, changed: dict[int, int]) -> None:
            regs = " ".join(f"r{r}=0x{v:x}" for r, v in sorted(changed.items()))
            out.write(f"{idx:5}: {fmt(idx):<40} {regs}".rstrip() + "\n")

        if not args.no_verify and ptype != ProgType.UNSPEC:
            # As the kernel would: only a program the verifier accepts runs. A raw program
            # has no context layout to verify against; the vm checks it as it runs.
            from ..verifier import check

            check(spec, maps=cs.maps)
        try:
            maps: dict[str, Map] = {n: create_map(ms) for n, ms in cs.maps.items()}
            prog_vm = VmProgram(spec, maps, budget=args.budget or DEFAULT_BUDGET,
                                trace=trace if args.trace else None)
            r0 = prog_vm.run(b"", mem, pull_l2=True) if packet else prog_vm.run(bytearray(mem))
            for line in prog_vm.printk:
                out.write(f"trace_printk: {line.rstrip()}\n")
        except VmError as e:
            shown = STDIN if args.file == "-" else args.file
            raise VmError(f"{_place(shown, spec, e.index)}: {e}") from None
    print(f"r0 = {r0} (0x{r0:x})")
    return 0
