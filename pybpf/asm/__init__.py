"""The eBPF instruction set (RFC 9669): model, encoding, assembler, disassembler."""

from .insn import INSN_SIZE, DecodeError, Insn, decode, encode, imm64_of, lddw, validate_program
from .opcodes import Alu, AtomicOp, CallSrc, Class, Jmp, Mode, PseudoSrc, Size, Source

__all__ = [
    "INSN_SIZE", "DecodeError", "Insn", "decode", "encode", "imm64_of", "lddw",
    "validate_program", "Alu", "AtomicOp", "CallSrc", "Class", "Jmp", "Mode", "PseudoSrc",
    "Size", "Source",
]
