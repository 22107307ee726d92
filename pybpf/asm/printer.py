"""The instruction-class dispatch both disassembly syntaxes share."""

from __future__ import annotations

from collections.abc import Callable

from ..spec import MapRef
from .insn import Insn
from .opcodes import LDDW, Alu, AtomicOp, Class, Jmp, Mode, Size

_ALU_OPS = {int(o) for o in Alu}
_JMP_OPS = {int(o) for o in Jmp}
_ATOMICS = {0x00, 0x40, 0x50, 0xA0, 0x01, 0x41, 0x51, 0xA1, int(AtomicOp.XCHG),
            int(AtomicOp.CMPXCHG)}

ImmNamer = Callable[[Insn, Insn], "str | None"]
CallNamer = Callable[[Insn], "str | None"]
LabelOf = Callable[[int], "str | None"]


def printable(ins: Insn) -> bool:
    """Whether the printers can spell this slot (reserved fields may still be non-zero)."""
    cls, op = ins.cls, ins.opcode
    if cls in (Class.ALU, Class.ALU64):
        return op & 0xF0 in _ALU_OPS and (op & 0xF0 != Alu.END or ins.imm in (16, 32, 64))
    if cls in (Class.JMP, Class.JMP32):
        return op & 0xF0 in _JMP_OPS
    if cls == Class.LDX:
        return ins.mode == Mode.MEM or (ins.mode == Mode.MEMSX and ins.size != Size.DW)
    if cls == Class.ST:
        return ins.mode == Mode.MEM
    if cls == Class.STX:
        return ins.mode == Mode.MEM or (ins.mode == Mode.ATOMIC and ins.size in (Size.W, Size.DW)
                                        and ins.imm in _ATOMICS)
    return op == LDDW or (ins.mode in (Mode.ABS, Mode.IND) and ins.size != Size.DW)


class Printer:
    """Shared dispatch over instruction classes; subclasses supply the spelling."""

    def __init__(self, ins: Insn, nxt: Insn | None, index: int, label_of: LabelOf | None,
                 map_ref: MapRef | None, imm_name: ImmNamer | None,
                 call_name: CallNamer | None, subprog_name: CallNamer | None = None) -> None:
        self.ins = ins
        self.nxt = nxt
        self.index = index
        self.label_of = label_of
        self.map_ref = map_ref
        self.imm_name = imm_name
        self.call_name = call_name
        self.subprog_name = subprog_name

    def text(self) -> str:
        ins = self.ins
        cls = ins.cls
        if cls in (Class.ALU, Class.ALU64):
            op = ins.alu_op
            if op == Alu.END:
                return self.end()
            if op == Alu.NEG:
                return self.neg()
            return self.alu()
        if cls in (Class.JMP, Class.JMP32):
            op = ins.opcode & 0xF0
            if op == Jmp.CALL:
                return self.call()
            if op == Jmp.EXIT:
                return "exit"
            if op == Jmp.JA:
                return self.ja()
            return self.jcond()
        if cls == Class.LDX:
            return self.ldx()
        if cls == Class.ST:
            return self.st()
        if cls == Class.STX:
            return self.atomic() if ins.mode == Mode.ATOMIC else self.stx()
        if ins.is_wide:
            return self.lddw()
        return self.ld_packet()

    def target(self, rel: int) -> str | None:
        """The label of slot ``index + 1 + rel`` when labels are on."""
        if self.label_of is None:
            return None
        return self.label_of(self.index + 1 + rel)

    # overridden
    def end(self) -> str: raise NotImplementedError
    def neg(self) -> str: raise NotImplementedError
    def alu(self) -> str: raise NotImplementedError
    def call(self) -> str: raise NotImplementedError
    def ja(self) -> str: raise NotImplementedError
    def jcond(self) -> str: raise NotImplementedError
    def ldx(self) -> str: raise NotImplementedError
    def st(self) -> str: raise NotImplementedError
    def stx(self) -> str: raise NotImplementedError
    def atomic(self) -> str: raise NotImplementedError
    def lddw(self) -> str: raise NotImplementedError
    def ld_packet(self) -> str: raise NotImplementedError

