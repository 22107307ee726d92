"""uBPF / bpf_conformance mnemonics that ``assemble`` reads back to the same bytes."""

from __future__ import annotations

from .insn import imm64_of
from .mnemonics import ALU_NAMES, ATOMIC_NAMES, JMP_NAMES, SIZE_SUFFIX_NAMES
from .opcodes import END_TO_BE, Alu, AtomicOp, CallSrc, Class, Mode, PseudoSrc, Source
from .printer import Printer


def _imm(v: int) -> str:
    """uBPF style: small and negative numbers in decimal, the rest in hex."""
    return str(v) if -10 <= v <= 10 or v < 0 else f"0x{v & 0xFFFFFFFF:x}"


def _mem(reg: int, off: int) -> str:
    return f"[%r{reg}{off:+d}]" if off else f"[%r{reg}]"


class AsmPrinter(Printer):
    """uBPF / bpf_conformance spelling that ``assemble`` reads back."""

    def jump(self, rel: int) -> str:
        return self.target(rel) or f"{rel:+d}"

    def w(self) -> str:
        return "32" if self.ins.cls in (Class.ALU, Class.JMP32) else ""

    def end(self) -> str:
        ins = self.ins
        if ins.cls == Class.ALU64:
            return f"bswap{ins.imm} %r{ins.dst}"
        kind = "be" if ins.source == END_TO_BE else "le"
        return f"{kind}{ins.imm} %r{ins.dst}"

    def neg(self) -> str:
        return f"neg{self.w()} %r{self.ins.dst}"

    def alu(self) -> str:
        ins = self.ins
        op = ins.alu_op
        if op == Alu.MOV and ins.off and ins.source == Source.X:
            width = "32" if ins.cls == Class.ALU else "64"
            return f"movsx{ins.off}{width} %r{ins.dst}, %r{ins.src}"
        name = ALU_NAMES[op]
        if op in (Alu.DIV, Alu.MOD) and ins.off == 1:
            name = "s" + name
        rhs = f"%r{ins.src}" if ins.source == Source.X else _imm(ins.imm)
        return f"{name}{self.w()} %r{ins.dst}, {rhs}"

    def call(self) -> str:
        ins = self.ins
        if ins.source == Source.X:
            return f"callx %r{ins.dst}"
        if ins.src == CallSrc.LOCAL:
            return f"call local {self.jump(ins.imm)}"
        if ins.src == CallSrc.KFUNC:
            return f"call runtime {ins.imm}"
        return f"call {ins.imm}"

    def ja(self) -> str:
        ins = self.ins
        if ins.cls == Class.JMP32:
            return f"ja32 {self.jump(ins.imm)}"
        return f"ja {self.jump(ins.off)}"

    def jcond(self) -> str:
        ins = self.ins
        rhs = f"%r{ins.src}" if ins.source == Source.X else _imm(ins.imm)
        return f"{JMP_NAMES[ins.opcode & 0xF0]}{self.w()} %r{ins.dst}, {rhs}, {self.jump(ins.off)}"

    def ldx(self) -> str:
        ins = self.ins
        sx = "sx" if ins.mode == Mode.MEMSX else ""
        return f"ldx{SIZE_SUFFIX_NAMES[ins.size]}{sx} %r{ins.dst}, {_mem(ins.src, ins.off)}"

    def st(self) -> str:
        ins = self.ins
        return f"st{SIZE_SUFFIX_NAMES[ins.size]} {_mem(ins.dst, ins.off)}, {_imm(ins.imm)}"

    def stx(self) -> str:
        ins = self.ins
        return f"stx{SIZE_SUFFIX_NAMES[ins.size]} {_mem(ins.dst, ins.off)}, %r{ins.src}"

    def atomic(self) -> str:
        ins = self.ins
        w = "" if ins.size == 0x18 else "32"
        operands = f"{_mem(ins.dst, ins.off)}, %r{ins.src}"
        if ins.imm == AtomicOp.CMPXCHG:
            return f"lock cmpxchg{w} {operands}"
        if ins.imm == AtomicOp.XCHG:
            return f"lock xchg{w} {operands}"
        fetch = "fetch " if ins.imm & AtomicOp.FETCH else ""
        return f"lock {fetch}{ATOMIC_NAMES[ins.imm & ~AtomicOp.FETCH]}{w} {operands}"

    def lddw(self) -> str:
        ins, nxt = self.ins, self.nxt
        assert nxt is not None
        if self.imm_name is not None:
            named = self.imm_name(ins, nxt)
            if named is not None:
                return f"lddw %r{ins.dst}, {named}"
        src = ins.src
        key: str = str(ins.imm & 0xFFFFFFFF)
        if self.map_ref is not None:
            key = self.map_ref.name
        off = nxt.imm & 0xFFFFFFFF
        if src == PseudoSrc.MAP_FD:
            rhs = f"map_by_fd({key})"
        elif src == PseudoSrc.MAP_VALUE:
            rhs = f"map_val(map_by_fd({key})) + {off}"
        elif src == PseudoSrc.MAP_IDX:
            rhs = f"map_by_idx({key})"
        elif src == PseudoSrc.MAP_IDX_VALUE:
            rhs = f"map_val(map_by_idx({key})) + {off}"
        elif src == PseudoSrc.BTF_ID:
            rhs = f"var_addr({key})"
        elif src == PseudoSrc.FUNC:
            rhs = f"code_addr({self.jump(ins.imm)})"
        else:
            rhs = f"0x{imm64_of(ins, nxt):x}"
        return f"lddw %r{ins.dst}, {rhs}"

    def ld_packet(self) -> str:
        ins = self.ins
        sz = SIZE_SUFFIX_NAMES[ins.size]
        if ins.mode == Mode.ABS:
            return f"ldabs{sz} {_imm(ins.imm)}"
        return f"ldind{sz} %r{ins.src}, {_imm(ins.imm)}"

