"""Instruction emission with labels: codegen writes jumps to labels, resolved at the end."""

from __future__ import annotations

from ..asm.insn import Insn, lddw
from ..asm.opcodes import Alu, AtomicOp, Class, Jmp, Mode, PseudoSrc, Size, Source
from ..spec import MapRef, SourceLoc
from ..uapi import HELPER_IDS

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, FP = range(11)
SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


def helper_id(name: str) -> int:
    return HELPER_IDS[name]


class Emitter:
    def __init__(self) -> None:
        self.insns: list[Insn] = []
        self.fixups: list[tuple[int, int]] = []  # (insn index, label)
        self.labels: dict[int, int] = {}
        self.map_refs: list[MapRef] = []
        self.source_map: dict[int, SourceLoc] = {}
        self.func_fixups: list[tuple[int, int]] = []  # (lddw index, callback label)
        self._next_label = 0

    # -- labels ----------------------------------------------------------
    def label(self) -> int:
        self._next_label += 1
        return self._next_label

    def mark(self, label: int) -> None:
        self.labels[label] = len(self.insns)

    def resolve(self) -> list[Insn]:
        for idx, label in self.fixups:
            ins = self.insns[idx]
            off = self.labels[label] - idx - 1
            self.insns[idx] = Insn(ins.opcode, ins.dst, ins.src, off, ins.imm)
        for idx, label in self.func_fixups:  # ld_imm64 of a callback: imm is insn-relative
            ins = self.insns[idx]
            self.insns[idx] = Insn(ins.opcode, ins.dst, ins.src, ins.off,
                                   self.labels[label] - idx - 1)
        self._drop_unreachable()
        return self.insns

    def func_starts(self) -> list[int]:
        """Instruction indexes of the callback subprograms (after ``resolve``)."""
        return sorted({i + 1 + ins.imm for i, ins in enumerate(self.insns)
                       if _is_func_load(ins) and not _is_second_slot(self.insns, i)})

    def _drop_unreachable(self) -> None:
        """Remove code no path reaches (after break/exit/return): the kernel rejects it."""
        insns = self.insns
        n = len(insns)
        seen = [False] * n
        work = [0]
        while work:
            i = work.pop()
            if i >= n or seen[i]:
                continue
            seen[i] = True
            ins = insns[i]
            if ins.is_wide:
                if i + 1 < n:
                    seen[i + 1] = True
                work.append(i + 2)
                if ins.src == PseudoSrc.FUNC:
                    work.append(i + 1 + ins.imm)  # a callback is reached through its address
                continue
            cls = ins.opcode & 0x07
            if cls in (Class.JMP, Class.JMP32):
                op = ins.opcode & 0xF0
                if op == Jmp.EXIT:
                    continue
                if op == Jmp.CALL:
                    work.append(i + 1)
                    continue
                work.append(i + 1 + ins.off)
                if op != Jmp.JA:
                    work.append(i + 1)
                continue
            work.append(i + 1)
        if all(seen):
            return
        new_index: dict[int, int] = {}
        for i in range(n):
            if seen[i]:
                new_index[i] = len(new_index)
        out: list[Insn] = []
        for i in range(n):
            if not seen[i]:
                continue
            ins = insns[i]
            cls = ins.opcode & 0x07
            is_jump = (cls in (Class.JMP, Class.JMP32) and not ins.is_wide
                       and (ins.opcode & 0xF0) not in (Jmp.CALL, Jmp.EXIT))
            if is_jump and i > 0 and insns[i - 1].is_wide:
                is_jump = False  # the second slot of an lddw
            if is_jump:
                target = new_index[i + 1 + ins.off]
                ins = Insn(ins.opcode, ins.dst, ins.src, target - new_index[i] - 1, ins.imm)
            elif _is_func_load(ins) and not _is_second_slot(insns, i):
                target = new_index[i + 1 + ins.imm]
                ins = Insn(ins.opcode, ins.dst, ins.src, ins.off, target - new_index[i] - 1)
            out.append(ins)
        self.insns = out
        self.map_refs = [MapRef(new_index[r.index], r.name, r.kind, r.offset)
                         for r in self.map_refs if r.index in new_index]
        self.source_map = {new_index[k]: v for k, v in self.source_map.items() if k in new_index}

    # -- instructions ----------------------------------------------------
    def emit(self, *insns: Insn) -> None:
        self.insns.extend(insns)

    def mov_imm(self, dst: int, value: int) -> None:
        value = _signed64(value)
        if -(1 << 31) <= value < (1 << 31):
            self.emit(Insn(Class.ALU64 | Alu.MOV | Source.K, dst, 0, 0, value))
        else:
            self.emit(*lddw(dst, value))

    def mov(self, dst: int, src: int) -> None:
        self.emit(Insn(Class.ALU64 | Alu.MOV | Source.X, dst, src))

    def mov32(self, dst: int, src: int) -> None:
        """dst = (u32)src: zero-extends the low half."""
        self.emit(Insn(Class.ALU | Alu.MOV | Source.X, dst, src))

    def alu_imm(self, op: int, dst: int, imm: int) -> None:
        if -(1 << 31) <= imm < (1 << 31):
            self.emit(Insn(Class.ALU64 | op | Source.K, dst, 0, 0, imm))
        else:
            self.mov_imm(R5, imm)
            self.alu(op, dst, R5)

    def alu(self, op: int, dst: int, src: int, off: int = 0) -> None:
        self.emit(Insn(Class.ALU64 | op | Source.X, dst, src, off))

    def neg(self, dst: int) -> None:
        self.emit(Insn(Class.ALU64 | Alu.NEG | Source.K, dst))

    def ldx(self, size: int, dst: int, src: int, off: int) -> None:
        self.emit(Insn(Class.LDX | SIZES[size] | Mode.MEM, dst, src, off))

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        self.emit(Insn(Class.STX | SIZES[size] | Mode.MEM, dst, src, off))

    def st_imm(self, size: int, dst: int, off: int, imm: int) -> None:
        self.emit(Insn(Class.ST | SIZES[size] | Mode.MEM, dst, 0, off, imm))

    def call(self, helper: str) -> None:
        self.emit(Insn(Class.JMP | Jmp.CALL, 0, 0, 0, helper_id(helper)))

    def exit(self) -> None:
        self.emit(Insn(Class.JMP | Jmp.EXIT))

    def ja(self, label: int) -> None:
        self.fixups.append((len(self.insns), label))
        self.emit(Insn(Class.JMP | Jmp.JA))

    def jmp_imm(self, op: int, dst: int, imm: int, label: int) -> None:
        self.fixups.append((len(self.insns), label))
        self.emit(Insn(Class.JMP | op | Source.K, dst, 0, 0, imm))

    def jmp_reg(self, op: int, dst: int, src: int, label: int) -> None:
        self.fixups.append((len(self.insns), label))
        self.emit(Insn(Class.JMP | op | Source.X, dst, src))

    def ld_map(self, dst: int, name: str) -> None:
        self.map_refs.append(MapRef(len(self.insns), name, PseudoSrc.MAP_FD))
        self.emit(*lddw(dst, 0, PseudoSrc.MAP_FD))

    def ld_map_value(self, dst: int, name: str, offset: int = 0) -> None:
        """dst = the address of array map ``name``'s value (+offset): no helper call."""
        self.map_refs.append(MapRef(len(self.insns), name, PseudoSrc.MAP_VALUE, offset))
        self.emit(*lddw(dst, offset << 32, PseudoSrc.MAP_VALUE))  # offset: 2nd imm

    def atomic_add(self, dst: int, off: int, src: int) -> None:
        """*(u64 *)(dst + off) += src, atomically (other CPUs update it too)."""
        self.emit(Insn(Class.STX | Size.DW | Mode.ATOMIC, dst, src, off, AtomicOp.ADD))

    def ld_func(self, dst: int, label: int) -> None:
        """dst = the address of the callback subprogram at ``label`` (BPF_PSEUDO_FUNC)."""
        self.func_fixups.append((len(self.insns), label))
        self.emit(*lddw(dst, 0, PseudoSrc.FUNC))

    def add_ptr(self, dst: int, base: int, off: int) -> None:
        self.mov(dst, base)
        if off:
            self.alu_imm(Alu.ADD, dst, off)


def _is_func_load(ins: Insn) -> bool:
    return ins.is_wide and ins.src == PseudoSrc.FUNC


def _is_second_slot(insns: list[Insn], i: int) -> bool:
    return i > 0 and insns[i - 1].is_wide and not _is_second_slot(insns, i - 1)


def _signed64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v
