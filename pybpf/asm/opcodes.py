"""Opcode field values of the eBPF instruction set (RFC 9669, section 3-5).

An opcode byte is ``class | (size|mode)`` for memory instructions and
``class | source | operation`` for arithmetic and jump instructions.
"""

from __future__ import annotations

from .._fastenum import IntEnumBase, fast_enum


@fast_enum
class Class(IntEnumBase):
    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


@fast_enum
class Size(IntEnumBase):
    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18


SIZE_BYTES = {Size.B: 1, Size.H: 2, Size.W: 4, Size.DW: 8}
BYTES_SIZE = {v: k for k, v in SIZE_BYTES.items()}


@fast_enum
class Mode(IntEnumBase):
    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


@fast_enum
class Source(IntEnumBase):
    K = 0x00
    X = 0x08


@fast_enum
class Alu(IntEnumBase):
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


@fast_enum
class Jmp(IntEnumBase):
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


@fast_enum
class AtomicOp(IntEnumBase):
    """Values of the imm field of an ATOMIC instruction."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH = 0x01
    XCHG = 0xE0 | 0x01
    CMPXCHG = 0xF0 | 0x01


@fast_enum
class PseudoSrc(IntEnumBase):
    """src_reg values of the 64-bit immediate load (RFC 9669, 5.4)."""

    IMM = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


@fast_enum
class CallSrc(IntEnumBase):
    """src_reg values of the CALL instruction."""

    HELPER = 0
    LOCAL = 1
    KFUNC = 2


# Byte-swap (END) direction lives in the source bit.
END_TO_LE = 0x00
END_TO_BE = 0x08

LDDW = Class.LD | Size.DW | Mode.IMM  # 0x18

MAX_REG = 10  # r10 is the read-only frame pointer
STACK_SIZE = 512  # bytes per frame
