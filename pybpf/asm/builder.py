"""Build programs from Python: one function per instruction form, and a ``Builder`` with labels.

The free functions mirror the kernel's ``BPF_*`` macros (``BPF_MOV64_IMM`` ->
``mov64_imm``) so C examples translate line by line; each returns one ``Insn``
(``ld_imm64`` and the map loads return the two slots of an lddw)::

    prog = [mov64_imm(R0, 0), exit_insn()]

``Builder`` adds what the macros lack: jumps and calls to named labels,
maps referenced by name (recorded as ``MapRef`` for the loader), and a
``ProgramSpec`` at the end::

    b = Builder()
    b.mov(R0, 0)
    b.jmp("==", R1, 0, "out")
    b.mov(R0, 1)
    b.label("out").exit()
    spec = b.spec("prog", ProgType.SOCKET_FILTER)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadInput
from ..spec import MapRef, ProgramSpec
from ..uapi import ProgType
from .insn import Insn, check_insn, lddw
from .mnemonics import (
    ALU_MNEMONICS,
    ALU_OPERATORS,
    ATOMIC_MNEMONICS,
    JMP_MNEMONICS,
    JMP_OPERATORS,
    SIGNED_ALU_OPERATORS,
    helper_id,
)
from .opcodes import (
    END_TO_BE,
    END_TO_LE,
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
    from collections.abc import Iterable

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
FP = R10

B, H, W, DW = Size.B, Size.H, Size.W, Size.DW
_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW, "b": Size.B, "h": Size.H, "w": Size.W,
          "dw": Size.DW, "u8": Size.B, "u16": Size.H, "u32": Size.W, "u64": Size.DW}


def _size(size: int | str) -> int:
    if isinstance(size, Size):
        return int(size)
    try:
        return _SIZES[size]
    except KeyError:
        raise BadInput(f"unknown access size {size!r}: use 1, 2, 4, 8 or Size.B/H/W/DW") from None


def _alu_op(op: int | str) -> tuple[int, int]:
    """An ALU operation given as ``Alu.ADD``, ``"add"``, ``"+="``, ``"sdiv"`` or ``"s/="``:
    (operation, offset field)."""
    if isinstance(op, int):
        return int(op), 0
    if op in ALU_OPERATORS:
        return ALU_OPERATORS[op], 0
    if op in SIGNED_ALU_OPERATORS:
        return SIGNED_ALU_OPERATORS[op], 1
    if op in ("sdiv", "smod"):
        return ALU_MNEMONICS[op[1:]], 1
    if op in ALU_MNEMONICS:
        return ALU_MNEMONICS[op], 0
    raise BadInput(f"unknown ALU operation {op!r}")


def _jmp_op(op: int | str) -> int:
    """A comparison given as ``Jmp.JEQ``, ``"jeq"`` or ``"=="``."""
    if isinstance(op, int):
        return int(op)
    found = JMP_OPERATORS.get(op, JMP_MNEMONICS.get(op))
    if found is None:
        raise BadInput(f"unknown comparison {op!r}")
    return found


# -- one instruction each (the kernel's BPF_* macros) ------------------------------------

def alu64_imm(op: int | str, dst: int, imm: int) -> Insn:
    code, off = _alu_op(op)
    return Insn(Class.ALU64 | code | Source.K, dst, 0, off, imm)


def alu64_reg(op: int | str, dst: int, src: int) -> Insn:
    code, off = _alu_op(op)
    return Insn(Class.ALU64 | code | Source.X, dst, src, off, 0)


def alu32_imm(op: int | str, dst: int, imm: int) -> Insn:
    code, off = _alu_op(op)
    return Insn(Class.ALU | code | Source.K, dst, 0, off, imm)


def alu32_reg(op: int | str, dst: int, src: int) -> Insn:
    code, off = _alu_op(op)
    return Insn(Class.ALU | code | Source.X, dst, src, off, 0)


def mov64_imm(dst: int, imm: int) -> Insn:
    return Insn(Class.ALU64 | Alu.MOV | Source.K, dst, 0, 0, imm)


def mov64_reg(dst: int, src: int) -> Insn:
    return Insn(Class.ALU64 | Alu.MOV | Source.X, dst, src, 0, 0)


def mov32_imm(dst: int, imm: int) -> Insn:
    return Insn(Class.ALU | Alu.MOV | Source.K, dst, 0, 0, imm)


def mov32_reg(dst: int, src: int) -> Insn:
    return Insn(Class.ALU | Alu.MOV | Source.X, dst, src, 0, 0)


def movsx64_reg(dst: int, src: int, bits: int) -> Insn:
    """``dst = (s<bits>)src`` for bits 8, 16 or 32."""
    return Insn(Class.ALU64 | Alu.MOV | Source.X, dst, src, bits, 0)


def movsx32_reg(dst: int, src: int, bits: int) -> Insn:
    return Insn(Class.ALU | Alu.MOV | Source.X, dst, src, bits, 0)


def neg64(dst: int) -> Insn:
    return Insn(Class.ALU64 | Alu.NEG, dst)


def neg32(dst: int) -> Insn:
    return Insn(Class.ALU | Alu.NEG, dst)


def endian(dst: int, bits: int, to: str) -> Insn:
    """Byte order conversion: ``to`` is "be", "le" or "bswap" (unconditional swap)."""
    if to == "bswap":
        return Insn(Class.ALU64 | Alu.END | END_TO_LE, dst, 0, 0, bits)
    if to not in ("be", "le"):
        raise BadInput(f"unknown byte order {to!r}: use 'be', 'le' or 'bswap'")
    return Insn(Class.ALU | Alu.END | (END_TO_BE if to == "be" else END_TO_LE), dst, 0, 0, bits)


def ldx_mem(size: int | str, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.LDX | Mode.MEM | _size(size), dst, src, off, 0)


def ldx_memsx(size: int | str, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.LDX | Mode.MEMSX | _size(size), dst, src, off, 0)


def stx_mem(size: int | str, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.STX | Mode.MEM | _size(size), dst, src, off, 0)


def st_mem(size: int | str, dst: int, off: int, imm: int) -> Insn:
    return Insn(Class.ST | Mode.MEM | _size(size), dst, 0, off, imm)


def atomic_op(size: int | str, op: int | str, dst: int, src: int, off: int,
              fetch: bool = False) -> Insn:
    """``lock *(size *)(dst + off) op= src``; ``op`` may be "add", "or", "and", "xor",
    "xchg", "cmpxchg" or an ``AtomicOp`` value."""
    if isinstance(op, str):
        if op == "xchg":
            imm = int(AtomicOp.XCHG)
        elif op == "cmpxchg":
            imm = int(AtomicOp.CMPXCHG)
        elif op in ATOMIC_MNEMONICS:
            imm = ATOMIC_MNEMONICS[op] | (AtomicOp.FETCH if fetch else 0)
        else:
            raise BadInput(f"unknown atomic operation {op!r}")
    else:
        imm = int(op) | (AtomicOp.FETCH if fetch else 0)
    return Insn(Class.STX | Mode.ATOMIC | _size(size), dst, src, off, imm)


def ld_imm64(dst: int, value: int) -> tuple[Insn, Insn]:
    return lddw(dst, value)


def ld_map_fd(dst: int, fd: int) -> tuple[Insn, Insn]:
    return lddw(dst, fd & 0xFFFFFFFF, PseudoSrc.MAP_FD)


def ld_map_value(dst: int, fd: int, off: int = 0) -> tuple[Insn, Insn]:
    return lddw(dst, (fd & 0xFFFFFFFF) | (off & 0xFFFFFFFF) << 32, PseudoSrc.MAP_VALUE)


def ld_abs(size: int | str, imm: int) -> Insn:
    return Insn(Class.LD | Mode.ABS | _size(size), 0, 0, 0, imm)


def ld_ind(size: int | str, src: int, imm: int) -> Insn:
    return Insn(Class.LD | Mode.IND | _size(size), 0, src, 0, imm)


def jmp_imm(op: int | str, dst: int, imm: int, off: int) -> Insn:
    return Insn(Class.JMP | _jmp_op(op) | Source.K, dst, 0, off, imm)


def jmp_reg(op: int | str, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.JMP | _jmp_op(op) | Source.X, dst, src, off, 0)


def jmp32_imm(op: int | str, dst: int, imm: int, off: int) -> Insn:
    return Insn(Class.JMP32 | _jmp_op(op) | Source.K, dst, 0, off, imm)


def jmp32_reg(op: int | str, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.JMP32 | _jmp_op(op) | Source.X, dst, src, off, 0)


def ja(off: int) -> Insn:
    return Insn(Class.JMP | Jmp.JA, 0, 0, off, 0)


def ja32(imm: int) -> Insn:
    return Insn(Class.JMP32 | Jmp.JA, 0, 0, 0, imm)


def call_helper(helper: int | str) -> Insn:
    """Call a helper by id or name (``"bpf_map_lookup_elem"`` or ``"map_lookup_elem"``)."""
    if isinstance(helper, str):
        found = helper_id(helper)
        if found is None:
            raise BadInput(f"unknown helper {helper!r}")
        helper = found
    return Insn(Class.JMP | Jmp.CALL, 0, CallSrc.HELPER, 0, helper)


def call_local(rel: int) -> Insn:
    return Insn(Class.JMP | Jmp.CALL, 0, CallSrc.LOCAL, 0, rel)


def call_kfunc(btf_id: int) -> Insn:
    return Insn(Class.JMP | Jmp.CALL, 0, CallSrc.KFUNC, 0, btf_id)


def callx(reg: int) -> Insn:
    return Insn(Class.JMP | Jmp.CALL | Source.X, reg, 0, 0, 0)


def exit_insn() -> Insn:
    return Insn(Class.JMP | Jmp.EXIT)


# -- the builder ----------------------------------------------------------------------------

@dataclass(slots=True)
class _Pending:
    index: int
    label: str
    field: str  # "off" or "imm"


class Builder:
    """Accumulates instructions; jumps and calls may name labels defined before or after.

    Methods return the builder, so short sequences chain:
    ``Builder().mov(R0, 0).exit()``.
    """

    def __init__(self) -> None:
        self._insns: list[Insn] = []
        self._labels: dict[str, int] = {}
        self._pending: list[_Pending] = []
        self._map_refs: list[MapRef] = []

    def __len__(self) -> int:
        return len(self._insns)

    # -- raw --------------------------------------------------------------------------------
    def emit(self, *insns: Insn | Iterable[Insn]) -> Builder:
        """Append instructions (an lddw pair may be passed as its tuple)."""
        for item in insns:
            if isinstance(item, Insn):
                self._insns.append(item)
            else:
                self._insns.extend(item)
        return self

    def label(self, name: str) -> Builder:
        if name in self._labels:
            raise BadInput(f"label {name!r} is defined twice")
        self._labels[name] = len(self._insns)
        return self

    def _later(self, insn: Insn, target: int | str, field: str) -> Builder:
        if isinstance(target, str):
            self._pending.append(_Pending(len(self._insns), target, field))
        self._insns.append(insn)
        return self

    # -- common forms --------------------------------------------------------------------
    def mov(self, dst: int, src: int, *, imm: bool = False, w32: bool = False) -> Builder:
        """``dst = src`` (a register), or ``dst = imm`` with ``imm=True``.

        A bare int is a register only when ``imm`` is False; a constant that does
        not fit 32 bits becomes an lddw.
        """
        return self.alu("mov", dst, src, imm=imm, w32=w32)

    def alu(self, op: int | str, dst: int, src: int, *, imm: bool = False,
            w32: bool = False) -> Builder:
        if imm and not w32 and op in ("mov", "=", Alu.MOV) and not -(1 << 31) <= src < (1 << 31):
            return self.emit(ld_imm64(dst, src))
        if imm:
            return self.emit((alu32_imm if w32 else alu64_imm)(op, dst, src))
        return self.emit((alu32_reg if w32 else alu64_reg)(op, dst, src))

    def load(self, size: int | str, dst: int, src: int, off: int = 0) -> Builder:
        return self.emit(ldx_mem(size, dst, src, off))

    def store(self, size: int | str, dst: int, off: int, src: int, *,
              imm: bool = False) -> Builder:
        """``*(size *)(dst + off) = src`` (register), or the constant ``src`` with ``imm=True``."""
        return self.emit(st_mem(size, dst, off, src) if imm else stx_mem(size, dst, src, off))

    def jmp(self, op: int | str, dst: int, src: int, target: int | str, *,
            imm: bool = True, w32: bool = False) -> Builder:
        """``if dst op src goto target``; ``src`` is a constant unless ``imm=False``."""
        off = target if isinstance(target, int) else 0
        if imm:
            insn = (jmp32_imm if w32 else jmp_imm)(op, dst, src, off)
        else:
            insn = (jmp32_reg if w32 else jmp_reg)(op, dst, src, off)
        return self._later(insn, target, "off")

    def goto(self, target: int | str, *, long: bool = False) -> Builder:
        if long:
            return self._later(ja32(target if isinstance(target, int) else 0), target, "imm")
        return self._later(ja(target if isinstance(target, int) else 0), target, "off")

    def call(self, helper: int | str) -> Builder:
        """Call a helper by id or ``bpf_*`` name."""
        return self.emit(call_helper(helper))

    def call_sub(self, target: int | str) -> Builder:
        """bpf-to-bpf call to a label (or a relative slot offset)."""
        return self._later(call_local(target if isinstance(target, int) else 0), target, "imm")

    def load_map(self, dst: int, name: str, *, value_offset: int | None = None) -> Builder:
        """Load map ``name``'s address (or its value + offset) — patched by the loader."""
        kind = PseudoSrc.MAP_FD if value_offset is None else PseudoSrc.MAP_VALUE
        self._map_refs.append(MapRef(len(self._insns), name, kind, value_offset or 0))
        pair = ld_map_fd(dst, 0) if value_offset is None else ld_map_value(dst, 0, value_offset)
        return self.emit(pair)

    def exit(self) -> Builder:
        return self.emit(exit_insn())

    # -- results ---------------------------------------------------------------------------
    @property
    def map_refs(self) -> list[MapRef]:
        return list(self._map_refs)

    def insns(self) -> list[Insn]:
        """The program with every label resolved; raises ``BadInput`` for a missing label."""
        out = list(self._insns)
        for p in self._pending:
            if p.label not in self._labels:
                raise BadInput(f"instruction {p.index}: undefined label {p.label!r}")
            rel = self._labels[p.label] - p.index - 1
            ins = out[p.index]
            if p.field == "off":
                if not -0x8000 <= rel <= 0x7FFF:
                    raise BadInput(f"instruction {p.index}: jump to {p.label!r} is out of "
                                   "16-bit range; use goto(..., long=True)")
                out[p.index] = Insn(ins.opcode, ins.dst, ins.src, rel, ins.imm)
            else:
                out[p.index] = Insn(ins.opcode, ins.dst, ins.src, ins.off, rel)
        for i, ins in enumerate(out):
            if i and out[i - 1].is_wide:
                continue
            reason = check_insn(ins)
            if reason:
                raise BadInput(f"instruction {i}: {reason}")
        return out

    def spec(self, name: str, prog_type: ProgType, **fields: object) -> ProgramSpec:
        """A ``ProgramSpec`` of the program (extra ``ProgramSpec`` fields by keyword)."""
        return ProgramSpec(name, prog_type, self.insns(), map_refs=self.map_refs,
                           **fields)  # type: ignore[arg-type]
