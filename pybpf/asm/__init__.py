"""The eBPF instruction set (RFC 9669): model, encoding, assembler, disassembler."""

from __future__ import annotations

from .insn import INSN_SIZE, DecodeError, Insn, decode, encode, imm64_of, lddw, validate_program
from .opcodes import Alu, AtomicOp, CallSrc, Class, Jmp, Mode, PseudoSrc, Size, Source

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from .assembler import Assembly, assemble, assemble_program
    from .builder import Builder
    from .disasm import disassemble, disassemble_bytes, format_insn

__all__ = [
    "INSN_SIZE", "DecodeError", "Insn", "decode", "encode", "imm64_of", "lddw",
    "validate_program", "Alu", "AtomicOp", "CallSrc", "Class", "Jmp", "Mode", "PseudoSrc",
    "Size", "Source",
    "Assembly", "assemble", "assemble_program", "disassemble", "disassemble_bytes", "format_insn",
    "Builder",
]

# The assembler and disassembler import pybpf.spec, which imports this package: load them
# on first use (this also keeps them off the start-up path of commands that never need them).
_LAZY = {
    "Assembly": "assembler", "assemble": "assembler", "assemble_program": "assembler",
    "disassemble": "disasm", "disassemble_bytes": "disasm", "format_insn": "disasm",
    "Builder": "builder",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(__import__(f"{__name__}.{module}", fromlist=["_"]), name)  # not importlib
