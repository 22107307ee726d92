"""The instruction model: one ``Insn`` per 8-byte slot, encode/decode, validation.

A 64-bit immediate load (``lddw``) occupies two slots; it is kept as two
``Insn`` objects, the second with opcode 0 carrying the upper 32 bits in
``imm``, exactly as the kernel and ELF relocations count them. Jump offsets,
relocation offsets and verifier messages therefore all use one index space.
"""

from __future__ import annotations

import struct

from .._record import dataclass
from ..errors import BadInput
from .opcodes import (
    LDDW,
    Alu,
    AtomicOp,
    CallSrc,
    Class,
    Jmp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

INSN_SIZE = 8
_FMT = struct.Struct("<BBhi")


class DecodeError(BadInput, ValueError):
    """Raised for bytes the RFC forbids; names the instruction index and the reason."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"instruction {index}: {reason}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Insn:
    """One 8-byte instruction slot (RFC 9669, section 3)."""

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    # -- field views ---------------------------------------------------
    @property
    def cls(self) -> int:
        return self.opcode & 0x07

    @property
    def is_wide(self) -> bool:
        """True for the first slot of a 64-bit immediate load."""
        return self.opcode == LDDW

    @property
    def alu_op(self) -> int:
        return self.opcode & 0xF0

    @property
    def source(self) -> int:
        return self.opcode & 0x08

    @property
    def size(self) -> int:
        return self.opcode & 0x18

    @property
    def mode(self) -> int:
        return self.opcode & 0xE0

    # -- bytes ---------------------------------------------------------
    def encode(self) -> bytes:
        return _FMT.pack(
            self.opcode, ((self.src & 0xF) << 4) | (self.dst & 0xF), self.off, self.imm
        )

    @classmethod
    def decode_slot(cls, raw: bytes | memoryview, offset: int = 0) -> Insn:
        op, regs, off, imm = _FMT.unpack_from(raw, offset)
        return cls(op, regs & 0xF, regs >> 4, off, imm)


def imm64_of(first: Insn, second: Insn) -> int:
    """The unsigned 64-bit constant of an ``lddw`` pair."""
    return (first.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)


def lddw(dst: int, value: int, src: int = PseudoSrc.IMM) -> tuple[Insn, Insn]:
    """Both slots of ``dst = value ll`` (value taken modulo 2**64)."""
    value &= 0xFFFFFFFFFFFFFFFF
    lo, hi = value & 0xFFFFFFFF, value >> 32
    return (Insn(LDDW, dst, src, 0, _s32(lo)), Insn(0, 0, 0, 0, _s32(hi)))


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def encode(insns: Iterable[Insn]) -> bytes:
    """The little-endian bytes of ``insns``; a field that does not fit is a ``DecodeError``."""
    seq = list(insns)
    try:
        return b"".join(i.encode() for i in seq)
    except struct.error:
        for index, ins in enumerate(seq):
            try:
                ins.encode()
            except struct.error as e:
                raise DecodeError(index, f"cannot encode {ins}: {e}") from None
        raise  # pragma: no cover - the loop finds the slot



def decode(raw: bytes | bytearray | memoryview, *, validate: bool = True) -> list[Insn]:
    """Bytes → instructions; with ``validate`` reject what RFC 9669 forbids."""
    if len(raw) % INSN_SIZE:
        raise DecodeError(
            len(raw) // INSN_SIZE,
            f"program length {len(raw)} is not a multiple of {INSN_SIZE} bytes",
        )
    mv = memoryview(raw)
    insns = [Insn(op, r & 0xF, r >> 4, off, imm) for op, r, off, imm in _FMT.iter_unpack(mv)]
    if validate:
        validate_program(insns)
    return insns


_ALU_OPS = {int(o) for o in Alu}
_JMP_COND = {int(o) for o in Jmp} - {Jmp.JA, Jmp.CALL, Jmp.EXIT}
_ATOMIC_IMMS = {
    AtomicOp.ADD,
    AtomicOp.OR,
    AtomicOp.AND,
    AtomicOp.XOR,
    AtomicOp.ADD | AtomicOp.FETCH,
    AtomicOp.OR | AtomicOp.FETCH,
    AtomicOp.AND | AtomicOp.FETCH,
    AtomicOp.XOR | AtomicOp.FETCH,
    AtomicOp.XCHG,
    AtomicOp.CMPXCHG,
}


def validate_program(insns: Sequence[Insn]) -> None:
    """Raise ``DecodeError`` at the first instruction the RFC forbids."""
    i = 0
    n = len(insns)
    while i < n:
        ins = insns[i]
        reason = check_insn(ins)
        if reason:
            raise DecodeError(i, reason)
        if ins.is_wide:
            if i + 1 >= n:
                raise DecodeError(i, "truncated 64-bit immediate load: the second slot is missing")
            nxt = insns[i + 1]
            if nxt.opcode or nxt.dst or nxt.src or nxt.off:
                raise DecodeError(
                    i + 1, "second slot of a 64-bit immediate load must have only imm set"
                )
            i += 2
            continue
        i += 1


def check_insn(ins: Insn) -> str | None:
    """The reason this single slot is invalid, or None. Wide pairs are checked by the caller."""
    op, dst, src, off, imm = ins.opcode, ins.dst, ins.src, ins.off, ins.imm
    if dst < 0 or src < 0:
        return f"negative register number (dst={dst}, src={src})"
    if not -0x8000 <= off <= 0x7FFF:
        return f"offset {off} does not fit in 16 bits"
    if not -0x80000000 <= imm <= 0xFFFFFFFF:
        return f"immediate {imm} does not fit in 32 bits"
    if dst > 10:
        return f"invalid destination register r{dst}"
    if src > 10 and not (op == LDDW):
        return f"invalid source register r{src}"
    cls = op & 0x07
    if cls in (Class.ALU, Class.ALU64):
        return _check_alu(cls, op, src, off, imm)
    if cls in (Class.JMP, Class.JMP32):
        return _check_jmp(cls, op, dst, src, off, imm)
    if cls == Class.LD:
        return _check_ld(op, src, off, imm)
    if cls == Class.LDX:
        mode = op & 0xE0
        if mode == Mode.MEM:
            pass
        elif mode == Mode.MEMSX:
            if op & 0x18 == Size.DW:
                return "sign-extending load of a double word is not defined"
        else:
            return f"unknown opcode 0x{op:02x}"
        if imm:
            return "reserved field imm must be zero in a load"
        return None
    if cls == Class.ST:
        if op & 0xE0 != Mode.MEM:
            return f"unknown opcode 0x{op:02x}"
        if src:
            return "reserved field src must be zero in a store of an immediate"
        return None
    # STX
    mode = op & 0xE0
    if mode == Mode.MEM:
        if imm:
            return "reserved field imm must be zero in a store"
        return None
    if mode == Mode.ATOMIC:
        if op & 0x18 not in (Size.W, Size.DW):
            return "atomic operations exist only for 32 and 64-bit words"
        if imm not in _ATOMIC_IMMS:
            return f"unknown atomic operation 0x{imm & 0xFFFFFFFF:x}"
        return None
    return f"unknown opcode 0x{op:02x}"


def _check_alu(cls: int, op: int, src: int, off: int, imm: int) -> str | None:
    code = op & 0xF0
    if code not in _ALU_OPS:
        return f"unknown opcode 0x{op:02x}"
    source = op & 0x08
    if code == Alu.END:
        if cls == Class.ALU64 and source:
            return f"unknown opcode 0x{op:02x}"
        if imm not in (16, 32, 64):
            return f"byte swap width must be 16, 32 or 64, not {imm}"
        if src or off:
            return "reserved fields src and offset must be zero in a byte swap"
        return None
    if code == Alu.NEG:
        if source or src or imm or off:
            return "reserved fields must be zero in neg"
        return None
    if source == Source.K and src:
        return "reserved field src must be zero with an immediate operand"
    if source == Source.X and imm:
        return "reserved field imm must be zero with a register operand"
    if code in (Alu.DIV, Alu.MOD):
        if off not in (0, 1):
            return f"offset of a division must be 0 (unsigned) or 1 (signed), not {off}"
        return None
    if code == Alu.MOV:
        if source == Source.K:
            allowed: tuple[int, ...] = (0,)
        else:
            allowed = (0, 8, 16, 32) if cls == Class.ALU64 else (0, 8, 16)
        if off not in allowed:
            return f"offset of mov must be one of {allowed}, not {off}"
        return None
    if off:
        return "reserved field offset must be zero in an arithmetic instruction"
    return None


def _check_jmp(cls: int, op: int, dst: int, src: int, off: int, imm: int) -> str | None:
    code = op & 0xF0
    source = op & 0x08
    if code == Jmp.JA:
        if source or src or dst:
            return "reserved fields must be zero in ja"
        if cls == Class.JMP and imm:
            return "reserved field imm must be zero in ja (use ja32/gotol for a 32-bit offset)"
        if cls == Class.JMP32 and off:
            return "reserved field offset must be zero in ja32"
        return None
    if code == Jmp.CALL:
        if cls != Class.JMP:
            return f"unknown opcode 0x{op:02x}"
        if source == Source.X:
            # callx: the target is held in a register (dst, as LLVM encodes it).
            if src or off:
                return "reserved fields must be zero in callx"
            return None
        if src not in (CallSrc.HELPER, CallSrc.LOCAL, CallSrc.KFUNC):
            return f"call has an unknown source {src}"
        if dst:
            return "reserved field dst must be zero in call"
        if off and src != CallSrc.KFUNC:
            return "reserved field offset must be zero in call"
        return None
    if code == Jmp.EXIT:
        if cls != Class.JMP:
            return f"unknown opcode 0x{op:02x}"
        if source or dst or src or off or imm:
            return "reserved fields must be zero in exit"
        return None
    if code not in _JMP_COND:
        return f"unknown opcode 0x{op:02x}"
    if source == Source.K and src:
        return "reserved field src must be zero with an immediate operand"
    if source == Source.X and imm:
        return "reserved field imm must be zero with a register operand"
    return None


def _check_ld(op: int, src: int, off: int, imm: int) -> str | None:
    mode = op & 0xE0
    if op == LDDW:
        if src > PseudoSrc.MAP_IDX_VALUE:
            return f"64-bit immediate load has an unknown source {src}"
        if off:
            return "reserved field offset must be zero in a 64-bit immediate load"
        return None
    if mode in (Mode.ABS, Mode.IND):
        if op & 0x18 == Size.DW:
            return "legacy packet loads exist only for B, H and W"
        if off:
            return "reserved field offset must be zero in a legacy packet load"
        if mode == Mode.ABS and src:
            return "reserved field src must be zero in ld_abs"
        return None
    return f"unknown opcode 0x{op:02x}"
