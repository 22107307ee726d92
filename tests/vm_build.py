"""A tiny instruction builder for the vm tests (independent of the assembler)."""

from __future__ import annotations

from typing import Any

from pybpf.asm.insn import Insn, lddw
from pybpf.spec import ProgramSpec
from pybpf.uapi import ProgType

ALU_OPS = {"add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50,
           "lsh": 0x60, "rsh": 0x70, "neg": 0x80, "mod": 0x90, "xor": 0xA0, "mov": 0xB0,
           "arsh": 0xC0, "end": 0xD0}
JMP_OPS = {"ja": 0x00, "jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50,
           "jsgt": 0x60, "jsge": 0x70, "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0}
SIZES = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}


def alu(op: str, dst: int, imm: int | None = None, src: int | None = None, off: int = 0,
        w64: bool = True) -> Insn:
    cls = 0x07 if w64 else 0x04
    if src is not None:
        return Insn(cls | ALU_OPS[op] | 0x08, dst, src, off, 0)
    return Insn(cls | ALU_OPS[op], dst, 0, off, imm or 0)


def alu32(op: str, dst: int, imm: int | None = None, src: int | None = None,
          off: int = 0) -> Insn:
    return alu(op, dst, imm, src, off, w64=False)


def mov(dst: int, imm: int) -> Insn:
    return alu("mov", dst, imm)


def movr(dst: int, src: int) -> Insn:
    return alu("mov", dst, src=src)


def jmp(op: str, dst: int, off: int, imm: int | None = None, src: int | None = None,
        w32: bool = False) -> Insn:
    cls = 0x06 if w32 else 0x05
    if src is not None:
        return Insn(cls | JMP_OPS[op] | 0x08, dst, src, off, 0)
    return Insn(cls | JMP_OPS[op], dst, 0, off, imm or 0)


def ja(off: int) -> Insn:
    return Insn(0x05, 0, 0, off, 0)


def gotol(imm: int) -> Insn:
    return Insn(0x06, 0, 0, 0, imm)


def exit_() -> Insn:
    return Insn(0x95)


def call(helper: int) -> Insn:
    return Insn(0x85, 0, 0, 0, helper)


def call_local(rel: int) -> Insn:
    return Insn(0x85, 0, 1, 0, rel)


def callx(reg: int) -> Insn:
    return Insn(0x8D, reg, 0, 0, 0)


def ldx(size: int, dst: int, src: int, off: int, sx: bool = False) -> Insn:
    return Insn(0x01 | SIZES[size] | (0x80 if sx else 0x60), dst, src, off, 0)


def stx(size: int, dst: int, src: int, off: int) -> Insn:
    return Insn(0x03 | SIZES[size] | 0x60, dst, src, off, 0)


def st(size: int, dst: int, off: int, imm: int) -> Insn:
    return Insn(0x02 | SIZES[size] | 0x60, dst, 0, off, imm)


def atomic(size: int, dst: int, src: int, off: int, op: int) -> Insn:
    return Insn(0x03 | SIZES[size] | 0xC0, dst, src, off, op)


def ld64(dst: int, value: int, src: int = 0) -> list[Insn]:
    return list(lddw(dst, value, src))


def ldabs(size: int, imm: int) -> Insn:
    return Insn(0x00 | SIZES[size] | 0x20, 0, 0, 0, imm)


def ldind(size: int, src: int, imm: int) -> Insn:
    return Insn(0x00 | SIZES[size] | 0x40, 0, src, 0, imm)


def flat(*parts: Any) -> list[Insn]:
    out: list[Insn] = []
    for p in parts:
        if isinstance(p, Insn):
            out.append(p)
        else:
            out.extend(flat(*p))
    return out


def spec(*parts: Any, ptype: ProgType = ProgType.UNSPEC, **kw: Any) -> ProgramSpec:
    return ProgramSpec("t", ptype, flat(*parts), **kw)


def run(*parts: Any, ctx: bytes | bytearray = b"", **kw: Any) -> int:
    from pybpf.vm import VmProgram

    return VmProgram(spec(*parts), **kw).run(ctx)


def ret(*body: Any, **kw: Any) -> int:
    """Run ``body`` followed by exit."""
    return run(*body, exit_(), **kw)
