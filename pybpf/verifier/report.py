"""What the verifier hands back: a verdict and readable rejections."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..asm.insn import Insn, imm64_of
from ..asm.opcodes import Class, Jmp, Mode
from ..spec import SourceLoc

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence

_ALU = {0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=",
        0x70: ">>=", 0x90: "%=", 0xA0: "^=", 0xB0: "=", 0xC0: "s>>="}
_JMP = {0x10: "==", 0x20: ">", 0x30: ">=", 0x40: "&", 0x50: "!=", 0x60: "s>", 0x70: "s>=",
        0xA0: "<", 0xB0: "<=", 0xC0: "s<", 0xD0: "s<="}
_SZ = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}


def insn_text(insns: Sequence[Insn], i: int) -> str:
    """Kernel-syntax text of instruction ``i`` (the shared disassembler's when available)."""
    try:
        from ..asm.disasm import format_insn

        nxt = insns[i + 1] if insns[i].is_wide and i + 1 < len(insns) else None
        return format_insn(insns[i], nxt, index=i)
    except Exception:  # noqa: BLE001 - the local formatter is good enough
        return _fmt(insns, i)


def _fmt(insns: Sequence[Insn], i: int) -> str:
    ins = insns[i]
    cls, op = ins.cls, ins.opcode & 0xF0
    d, s = f"r{ins.dst}", f"r{ins.src}"
    if cls in (Class.ALU, Class.ALU64):
        p = "r" if cls == Class.ALU64 else "w"
        d, s = f"{p}{ins.dst}", f"{p}{ins.src}"
        rhs = s if ins.source else str(ins.imm)
        if op == 0x80:
            return f"{d} = -{d}"
        if op == 0xD0:
            return f"{d} = {'be' if ins.source else 'le'}{ins.imm} {d}"
        return f"{d} {_ALU.get(op, '?')} {rhs}"
    if cls == Class.LD:
        if ins.is_wide and i + 1 < len(insns):
            return f"{d} = 0x{imm64_of(ins, insns[i + 1]):x} ll" + (
                f" (pseudo src {ins.src})" if ins.src else "")
        return f"r0 = *({_SZ[ins.size]} *)skb[{s + ' + ' if ins.mode == Mode.IND else ''}" \
               f"{ins.imm}]"
    if cls == Class.LDX:
        return f"{d} = *({_SZ[ins.size]} *)({s} {ins.off:+d})"
    if cls == Class.ST:
        return f"*({_SZ[ins.size]} *)({d} {ins.off:+d}) = {ins.imm}"
    if cls == Class.STX:
        if ins.mode == Mode.ATOMIC:
            return f"lock *({_SZ[ins.size]} *)({d} {ins.off:+d}) op 0x{ins.imm:x} {s}"
        return f"*({_SZ[ins.size]} *)({d} {ins.off:+d}) = {s}"
    if op == Jmp.EXIT:
        return "exit"
    if op == Jmp.CALL:
        if ins.src == 1:
            return f"call pc{ins.imm:+d}"
        from ..uapi import HELPER_NAMES

        name = HELPER_NAMES[ins.imm] if 0 <= ins.imm < len(HELPER_NAMES) else "unknown"
        return f"call bpf_{name}#{ins.imm}"
    tgt = ins.imm if cls == Class.JMP32 and op == Jmp.JA else ins.off
    if op == Jmp.JA:
        return f"goto pc{tgt:+d}"
    w = "w" if cls == Class.JMP32 else "r"
    rhs = f"{w}{ins.src}" if ins.source else str(ins.imm)
    return f"if {w}{ins.dst} {_JMP.get(op, '?')} {rhs} goto pc{tgt:+d}"


@dataclass
class VerifierReport:
    """One rejection: where, what, the registers there, and the path that got there."""

    index: int
    insn_text: str
    reason: str
    regs: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    source: SourceLoc | None = None

    def one_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}insn {self.index}: {self.reason}"

    def __str__(self) -> str:
        lines = [f"insn {self.index}: {self.insn_text}"]
        if self.source:
            lines[0] += f"    ({self.source}" + (f": {self.source.text.strip()}"
                                                if self.source.text else "") + ")"
        lines.append(f"  error: {self.reason}")
        if self.regs:
            lines.append("  registers: " + " ".join(f"{k}={v}" for k, v in self.regs.items()))
        if self.path:
            lines.append("  path: " + " -> ".join(self.path))
        return "\n".join(lines)


@dataclass
class Verdict:
    """The outcome of ``verify``; ``stats`` counts instructions processed and states kept."""

    accepted: bool
    errors: list[VerifierReport] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    # load/store instructions proven in bounds on every path (empty when rejected)
    safe_accesses: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return self.accepted

    def __str__(self) -> str:
        if self.accepted:
            return (f"accepted ({self.stats.get('insns_processed', 0)} insns processed, "
                    f"{self.stats.get('states', 0)} states)")
        return "rejected\n" + "\n".join(str(e) for e in self.errors)
