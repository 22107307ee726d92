"""Names shared by the assembler and the disassembler, so both read and print one vocabulary.

Two spellings exist for every instruction: the uBPF / bpf_conformance mnemonics
(``add32 %r1, 2``) and the C-like kernel/LLVM form (``w1 += 2``) printed by
``bpftool prog dump xlated`` and ``llvm-objdump -d``.
"""

from __future__ import annotations

from ..uapi import HELPER_IDS, HELPER_NAMES
from .opcodes import Alu, AtomicOp, Jmp, Size

# uBPF mnemonic -> ALU operation (the "32"/"64" suffix picks the class).
ALU_MNEMONICS: dict[str, int] = {
    "add": Alu.ADD, "sub": Alu.SUB, "mul": Alu.MUL, "div": Alu.DIV, "or": Alu.OR,
    "and": Alu.AND, "lsh": Alu.LSH, "rsh": Alu.RSH, "neg": Alu.NEG, "mod": Alu.MOD,
    "xor": Alu.XOR, "mov": Alu.MOV, "arsh": Alu.ARSH,
}
ALU_NAMES: dict[int, str] = {v: k for k, v in ALU_MNEMONICS.items()}

# Kernel compound-assignment operator -> ALU operation (``=`` is mov).
ALU_OPERATORS: dict[str, int] = {
    "+=": Alu.ADD, "-=": Alu.SUB, "*=": Alu.MUL, "/=": Alu.DIV, "|=": Alu.OR,
    "&=": Alu.AND, "<<=": Alu.LSH, ">>=": Alu.RSH, "%=": Alu.MOD, "^=": Alu.XOR,
    "=": Alu.MOV, "s>>=": Alu.ARSH,
}
ALU_OPERATOR_NAMES: dict[int, str] = {v: k for k, v in ALU_OPERATORS.items()}
SIGNED_ALU_OPERATORS: dict[str, int] = {"s/=": Alu.DIV, "s%=": Alu.MOD}
SIGNED_ALU_OPERATOR_NAMES: dict[int, str] = {v: k for k, v in SIGNED_ALU_OPERATORS.items()}

# uBPF conditional-jump mnemonic -> operation.
JMP_MNEMONICS: dict[str, int] = {
    "jeq": Jmp.JEQ, "jgt": Jmp.JGT, "jge": Jmp.JGE, "jset": Jmp.JSET, "jne": Jmp.JNE,
    "jsgt": Jmp.JSGT, "jsge": Jmp.JSGE, "jlt": Jmp.JLT, "jle": Jmp.JLE, "jslt": Jmp.JSLT,
    "jsle": Jmp.JSLE,
}
JMP_NAMES: dict[int, str] = {v: k for k, v in JMP_MNEMONICS.items()}

# Kernel comparison operator -> operation.
JMP_OPERATORS: dict[str, int] = {
    "==": Jmp.JEQ, ">": Jmp.JGT, ">=": Jmp.JGE, "&": Jmp.JSET, "!=": Jmp.JNE,
    "s>": Jmp.JSGT, "s>=": Jmp.JSGE, "<": Jmp.JLT, "<=": Jmp.JLE, "s<": Jmp.JSLT,
    "s<=": Jmp.JSLE,
}
JMP_OPERATOR_NAMES: dict[int, str] = {v: k for k, v in JMP_OPERATORS.items()}

# Memory access sizes: uBPF suffix and kernel type names.
SIZE_SUFFIX: dict[str, int] = {"b": Size.B, "h": Size.H, "w": Size.W, "dw": Size.DW}
SIZE_SUFFIX_NAMES: dict[int, str] = {v: k for k, v in SIZE_SUFFIX.items()}
UNSIGNED_TYPES: dict[str, int] = {"u8": Size.B, "u16": Size.H, "u32": Size.W, "u64": Size.DW}
UNSIGNED_TYPE_NAMES: dict[int, str] = {v: k for k, v in UNSIGNED_TYPES.items()}
SIGNED_TYPES: dict[str, int] = {"s8": Size.B, "s16": Size.H, "s32": Size.W}
SIGNED_TYPE_NAMES: dict[int, str] = {v: k for k, v in SIGNED_TYPES.items()}

# Atomic read-modify-write operations (imm field, without the FETCH bit).
ATOMIC_MNEMONICS: dict[str, int] = {
    "add": AtomicOp.ADD, "or": AtomicOp.OR, "and": AtomicOp.AND, "xor": AtomicOp.XOR,
}
ATOMIC_NAMES: dict[int, str] = {v: k for k, v in ATOMIC_MNEMONICS.items()}

# Sign-extending move widths (the offset field of MOV).
MOVSX_WIDTHS = (8, 16, 32)


def helper_name(helper_id: int) -> str | None:
    """``bpf_<name>`` of a helper id, as the kernel prints it, or None if unknown."""
    if 0 <= helper_id < len(HELPER_NAMES):
        return "bpf_" + HELPER_NAMES[helper_id]
    return None


def helper_id(name: str) -> int | None:
    """The id of ``bpf_map_lookup_elem`` (or ``map_lookup_elem``), or None."""
    return HELPER_IDS.get(name.removeprefix("bpf_"))
