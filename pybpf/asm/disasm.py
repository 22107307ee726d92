"""Instructions -> text, as ``bpftool prog dump xlated`` prints them or as re-assemblable uBPF asm.

``syntax="kernel"`` (default) mirrors bpftool character for character::

       0: (b7) r0 = 1
       1: (18) r1 = map[id:5]
       3: (85) call bpf_map_lookup_elem#1
       4: (15) if r0 == 0x0 goto pc+1

``syntax="asm"`` prints uBPF / bpf_conformance mnemonics that ``assemble``
reads back to the same bytes. With ``labels=True`` jump and call targets get
names (``LBB0_1``, ``sub_7``) instead of ``pc+N`` / ``+N``; both forms assemble.
Slots that RFC 9669 forbids print as ``.insn OPCODE, DST, SRC, OFF, IMM`` (they
only reach here when the caller decoded with ``validate=False``).
"""

from __future__ import annotations

from ..spec import MapRef
from .insn import INSN_SIZE, Insn, check_insn, decode
from .opcodes import CallSrc, Class, Jmp, PseudoSrc
from .print_asm import AsmPrinter
from .print_kernel import KernelPrinter
from .printer import CallNamer, ImmNamer, LabelOf, Printer, printable

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["disassemble", "disassemble_bytes", "format_insn", "jump_labels"]


def disassemble(
    insns: Sequence[Insn],
    syntax: str = "kernel",
    *,
    labels: bool = False,
    opcodes: bool = False,
    map_refs: Sequence[MapRef] = (),
    imm_name: ImmNamer | None = None,
    call_name: CallNamer | None = None,
    subprog_name: CallNamer | None = None,
) -> str:
    """The program as text, one instruction a line (an lddw pair is one line).

    ``map_refs`` prints named map loads by name. Like bpftool's ``cb_imm`` and
    ``cb_call``, callbacks may replace parts of the kernel-syntax text (return None
    to keep the default): ``imm_name(first, second)`` an lddw operand,
    ``call_name(insn)`` the NAME of a helper or kfunc call (``call NAME#IMM``), and
    ``subprog_name(insn)`` what follows ``call pc`` in a bpf-to-bpf call. For an
    xlated kernel program bpftool prints ``"+<insn.off>#bpf_prog_<tag>_<func>"``
    there, as the kernel keeps the JIT address in imm. ``opcodes`` adds bpftool's
    raw-bytes line under each kernel-syntax line.
    """
    if syntax not in ("kernel", "asm"):
        raise ValueError(f"unknown syntax {syntax!r}: choose 'kernel' or 'asm'")
    names = jump_labels(insns) if labels else {}
    refs = {r.index: r for r in map_refs}
    out: list[str] = []
    i = 0
    n = len(insns)
    while i < n:
        ins = insns[i]
        if i in names:
            out.append(f"{names[i]}:")
        nxt = insns[i + 1] if ins.is_wide and i + 1 < n else None
        wide = nxt is not None and not (nxt.opcode or nxt.dst or nxt.src or nxt.off)
        nxt = nxt if wide else None
        text = format_insn(ins, nxt, syntax=syntax, index=i, label_of=names.get,
                           map_ref=refs.get(i), imm_name=imm_name, call_name=call_name,
                           subprog_name=subprog_name)
        if syntax == "kernel":
            out.append(f"{i: 4d}: ({ins.opcode:02x}) {text}")
            if opcodes:
                raw = ins.encode() + (nxt.encode() if nxt is not None else b"")
                out.append("       " + " ".join(f"{b:02x}" for b in raw))
        else:
            out.append(text)
        i += 2 if wide else 1
    return "\n".join(out) + ("\n" if out else "")


def disassemble_bytes(raw: bytes | bytearray | memoryview, syntax: str = "kernel", *,
                      validate: bool = True, **options: object) -> str:
    """Decode raw bytecode and disassemble it; ``DecodeError`` names the bad instruction."""
    if len(raw) % INSN_SIZE and not validate:
        raw = bytes(raw)[: len(raw) - len(raw) % INSN_SIZE]
    return disassemble(decode(raw, validate=validate), syntax, **options)  # type: ignore[arg-type]


def jump_labels(insns: Sequence[Insn]) -> dict[int, str]:
    """Names for every in-range jump/call target: ``LBB0_k`` for jumps, ``sub_N`` for calls."""
    jumps: set[int] = set()
    subs: set[int] = set()
    starts: set[int] = set()
    n = len(insns)
    i = 0
    while i < n:
        starts.add(i)
        i += 2 if insns[i].is_wide else 1
    for i in sorted(starts):
        ins = insns[i]
        target = _target_of(ins, i)
        if target is not None and target in starts:
            is_sub = (ins.opcode == Class.JMP | Jmp.CALL and ins.src == CallSrc.LOCAL) or \
                (ins.is_wide and ins.src == PseudoSrc.FUNC)
            (subs if is_sub else jumps).add(target)
    names = {t: f"sub_{t}" for t in subs}
    for k, t in enumerate(sorted(jumps - subs), 1):
        names[t] = f"LBB0_{k}"
    return names


def _target_of(ins: Insn, index: int) -> int | None:
    """Absolute slot a jump, local call or function-address load refers to."""
    cls = ins.cls
    if ins.is_wide:
        return index + 1 + ins.imm if ins.src == PseudoSrc.FUNC else None
    if cls not in (Class.JMP, Class.JMP32) or not printable(ins):
        return None
    op = ins.opcode & 0xF0
    if op == Jmp.CALL:
        return index + 1 + ins.imm if ins.src == CallSrc.LOCAL and not ins.source else None
    if op == Jmp.EXIT:
        return None
    if op == Jmp.JA and cls == Class.JMP32:
        return index + 1 + ins.imm
    return index + 1 + ins.off


def format_insn(
    ins: Insn,
    next_insn: Insn | None = None,
    *,
    syntax: str = "kernel",
    index: int = 0,
    label_of: LabelOf | None = None,
    map_ref: MapRef | None = None,
    imm_name: ImmNamer | None = None,
    call_name: CallNamer | None = None,
    subprog_name: CallNamer | None = None,
) -> str:
    """One instruction's text without the index prefix (``next_insn``: second lddw slot)."""
    fmt: type[Printer] = KernelPrinter if syntax == "kernel" else AsmPrinter
    if ins.is_wide and next_insn is None:
        return _raw(ins) + "  # truncated 64-bit load"
    if ins.is_wide and (next_insn is not None and (
            next_insn.opcode or next_insn.dst or next_insn.src or next_insn.off)):
        return _raw(ins)
    # The kernel syntax shows what bpftool shows, reserved fields or not (xlated programs
    # set call offsets, for one); the asm syntax must re-assemble exactly, so anything
    # RFC 9669 forbids is spelled out field by field.
    if (not printable(ins)) if syntax == "kernel" else check_insn(ins):
        return _raw(ins)
    return fmt(ins, next_insn, index, label_of, map_ref, imm_name, call_name,
               subprog_name).text()


def _raw(ins: Insn) -> str:
    return f".insn 0x{ins.opcode:02x}, {ins.dst}, {ins.src}, {ins.off}, {ins.imm}"

