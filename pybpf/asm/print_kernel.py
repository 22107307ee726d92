"""Kernel syntax, as kernel/bpf/disasm.c and ``bpftool prog dump xlated`` print it."""

from __future__ import annotations

from .insn import Insn, imm64_of
from .mnemonics import (
    ALU_OPERATOR_NAMES,
    ATOMIC_NAMES,
    JMP_OPERATOR_NAMES,
    SIGNED_ALU_OPERATOR_NAMES,
    SIGNED_TYPE_NAMES,
    UNSIGNED_TYPE_NAMES,
    helper_name,
)
from .opcodes import END_TO_BE, Alu, AtomicOp, CallSrc, Class, Mode, PseudoSrc, Source
from .printer import Printer


class KernelPrinter(Printer):
    """bpftool / kernel/bpf/disasm.c spelling."""

    def reg(self, r: int) -> str:
        return f"{'w' if self.ins.cls in (Class.ALU, Class.JMP32) else 'r'}{r}"

    def end(self) -> str:
        ins = self.ins
        if ins.cls == Class.ALU64:
            return f"r{ins.dst} = bswap{ins.imm} r{ins.dst}"
        kind = "be" if ins.source == END_TO_BE else "le"
        return f"r{ins.dst} = {kind}{ins.imm} r{ins.dst}"

    def neg(self) -> str:
        return f"{self.reg(self.ins.dst)} = -{self.reg(self.ins.dst)}"

    def alu(self) -> str:
        ins = self.ins
        op = ins.alu_op
        if op in (Alu.DIV, Alu.MOD) and ins.off == 1:
            sym = SIGNED_ALU_OPERATOR_NAMES[op]
        else:
            sym = ALU_OPERATOR_NAMES[op]
        if ins.source == Source.X:
            cast = f"(s{ins.off})" if op == Alu.MOV and ins.off else ""
            return f"{self.reg(ins.dst)} {sym} {cast}{self.reg(ins.src)}"
        return f"{self.reg(ins.dst)} {sym} {ins.imm}"

    def call(self) -> str:
        ins = self.ins
        if ins.source == Source.X:
            return f"callx r{ins.dst}"
        if ins.src == CallSrc.LOCAL:
            label = self.target(ins.imm)
            if label:
                return f"call {label}"
            # Like bpftool's cb_call: for xlated programs it gives "+<off>#<symbol>".
            named = self.subprog_name(ins) if self.subprog_name is not None else None
            return f"call pc{named}" if named else f"call pc{ins.imm:+d}"
        name = helper_name(ins.imm) if ins.src == CallSrc.HELPER else None
        if name is None and self.call_name is not None:
            name = self.call_name(ins)
        if name is None:
            name = "kernel-function" if ins.src == CallSrc.KFUNC else "unknown"
        return f"call {name}#{ins.imm}"

    def ja(self) -> str:
        ins = self.ins
        if ins.cls == Class.JMP32:
            label = self.target(ins.imm)
            return f"gotol {label}" if label else f"gotol pc{ins.imm:+d}"
        label = self.target(ins.off)
        return f"goto {label}" if label else f"goto pc{ins.off:+d}"

    def jcond(self) -> str:
        ins = self.ins
        sym = JMP_OPERATOR_NAMES[ins.opcode & 0xF0]
        rhs = self.reg(ins.src) if ins.source == Source.X else f"0x{ins.imm & 0xFFFFFFFF:x}"
        label = self.target(ins.off)
        where = label if label else f"pc{ins.off:+d}"
        return f"if {self.reg(ins.dst)} {sym} {rhs} goto {where}"

    def ldx(self) -> str:
        ins = self.ins
        names = SIGNED_TYPE_NAMES if ins.mode == Mode.MEMSX else UNSIGNED_TYPE_NAMES
        return f"r{ins.dst} = *({names[ins.size]} *)(r{ins.src} {ins.off:+d})"

    def st(self) -> str:
        ins = self.ins
        return f"*({UNSIGNED_TYPE_NAMES[ins.size]} *)(r{ins.dst} {ins.off:+d}) = {ins.imm}"

    def stx(self) -> str:
        ins = self.ins
        return f"*({UNSIGNED_TYPE_NAMES[ins.size]} *)(r{ins.dst} {ins.off:+d}) = r{ins.src}"

    def atomic(self) -> str:
        ins = self.ins
        t = UNSIGNED_TYPE_NAMES[ins.size]
        w = "64" if t == "u64" else ""
        addr = f"({t} *)(r{ins.dst} {ins.off:+d})"
        if ins.imm == AtomicOp.CMPXCHG:
            return f"r0 = atomic{w}_cmpxchg({addr}, r0, r{ins.src})"
        if ins.imm == AtomicOp.XCHG:
            return f"r{ins.src} = atomic{w}_xchg({addr}, r{ins.src})"
        op = ins.imm & ~AtomicOp.FETCH
        if ins.imm & AtomicOp.FETCH:
            return f"r{ins.src} = atomic{w}_fetch_{ATOMIC_NAMES[op]}({addr}, r{ins.src})"
        return f"lock *({t} *)(r{ins.dst} {ins.off:+d}) {ALU_OPERATOR_NAMES[op]} r{ins.src}"

    def lddw(self) -> str:
        ins, nxt = self.ins, self.nxt
        assert nxt is not None
        return f"r{ins.dst} = {self.wide_operand(ins, nxt)}"

    def wide_operand(self, ins: Insn, nxt: Insn) -> str:
        if self.imm_name is not None:
            named = self.imm_name(ins, nxt)
            if named is not None:
                return named
        ref = self.map_ref
        if ref is not None:
            if ins.src == PseudoSrc.MAP_VALUE:
                return f"map[name:{ref.name}][0]+{nxt.imm & 0xFFFFFFFF}"
            return f"map[name:{ref.name}]"
        src = ins.src
        if src == PseudoSrc.MAP_FD:
            return f"map[id:{ins.imm & 0xFFFFFFFF}]"
        if src == PseudoSrc.MAP_VALUE:
            return f"map[id:{ins.imm & 0xFFFFFFFF}][0]+{nxt.imm & 0xFFFFFFFF}"
        if src == PseudoSrc.MAP_IDX_VALUE:
            return f"map[idx:{ins.imm & 0xFFFFFFFF}]+{nxt.imm & 0xFFFFFFFF}"
        if src == PseudoSrc.MAP_IDX:
            return f"map[idx:{ins.imm & 0xFFFFFFFF}]"
        if src == PseudoSrc.FUNC:
            label = self.target(ins.imm)
            return f"subprog[{label}]" if label else f"subprog[{ins.imm:+d}]"
        if src == PseudoSrc.BTF_ID:
            return f"btf_id({ins.imm & 0xFFFFFFFF})"
        return f"0x{imm64_of(ins, nxt):x}"

    def ld_packet(self) -> str:
        ins = self.ins
        t = UNSIGNED_TYPE_NAMES[ins.size]
        if ins.mode == Mode.ABS:
            return f"r0 = *({t} *)skb[{ins.imm}]"
        return f"r0 = *({t} *)skb[r{ins.src} + {ins.imm}]"

