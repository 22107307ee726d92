"""Opcode fields as plain ints for the verifier's per-instruction paths.

The same names and values as ``pybpf.asm.opcodes``' enums, but class attributes of
plain classes: reading an enum member costs several times more, and the walk reads
a few per instruction.
"""

from __future__ import annotations

from ..asm.opcodes import SIZE_BYTES

__all__ = ["SIZE_BYTES", "Alu", "AtomicOp", "CallSrc", "Class", "Jmp", "Mode", "PseudoSrc"]


class Class:
    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Alu:
    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class Jmp:
    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0


class Mode:
    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class AtomicOp:
    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH = 0x01
    XCHG = 0xE1
    CMPXCHG = 0xF1


class PseudoSrc:
    IMM = 0x00
    MAP_FD = 0x01
    MAP_VALUE = 0x02
    BTF_ID = 0x03
    FUNC = 0x04
    MAP_IDX = 0x05
    MAP_IDX_VALUE = 0x06


class CallSrc:
    HELPER = 0x00
    LOCAL = 0x01
    KFUNC = 0x02
