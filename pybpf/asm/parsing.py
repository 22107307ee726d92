"""Assembler state and the token-level parser every syntax builds on.

One ``AsmState`` collects slots, labels, fix-ups and named map loads for a
whole text; one ``ParserBase`` walks the tokens of a single line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BadInput
from ..spec import MapRef, ProgramSpec, SourceLoc
from ..uapi import ProgType
from .insn import Insn, check_insn, lddw
from .lexer import Line, Token
from .mnemonics import SIGNED_TYPES, UNSIGNED_TYPES
from .opcodes import PseudoSrc

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

S32_MIN, S32_MAX, U32_MAX = -(1 << 31), (1 << 31) - 1, (1 << 32) - 1


@dataclass(slots=True)
class Assembly:
    """Everything an assembly text produced: slots, labels, named map loads, source lines."""

    insns: list[Insn]
    labels: dict[str, int] = field(default_factory=dict)
    map_refs: list[MapRef] = field(default_factory=list)
    source_map: dict[int, SourceLoc] = field(default_factory=dict)

    def to_spec(self, name: str, prog_type: ProgType, **fields: Any) -> ProgramSpec:
        """A ``ProgramSpec`` carrying the map references and source lines (other
        ``ProgramSpec`` fields by keyword)."""
        return ProgramSpec(name, prog_type, list(self.insns), map_refs=list(self.map_refs),
                           source_map=dict(self.source_map), **fields)


@dataclass(slots=True)
class Fixup:
    """A slot whose jump offset (``off``) or imm waits for a label's address."""

    index: int
    label: Token
    line: int
    field: str  # "off" (16-bit jump), "imm" (ja32 / call / lddw of a function)
    is_call: bool = False  # a bare "call NAME": NAME may have been meant as a helper


class AsmState:
    """Everything assembled so far; ``finish`` resolves labels and validates."""

    def __init__(self, filename: str, strict: bool) -> None:
        self.filename = filename
        self.strict = strict
        self.insns: list[Insn] = []
        self.labels: dict[str, int] = {}
        self.fixups: list[Fixup] = []
        self.map_refs: list[MapRef] = []
        self.source_map: dict[int, SourceLoc] = {}
        self.first_exit: int | None = None

    # -- driver ----------------------------------------------------------
    def line(self, line: Line, parser: Callable[[AsmState, Line], ParserBase]) -> None:
        for name, col in line.labels:
            if name in self.labels:
                raise BadInput(
                    f"{self.filename}:{line.number}:{col}: label {name!r} is defined twice "
                    f"(first at instruction {self.labels[name]})"
                )
            self.labels[name] = len(self.insns)
        if line.tokens and line.tokens[0].kind != "end":
            parser(self, line).parse()

    def emit(self, line: Line, col: int, *insns: Insn) -> int:
        index = len(self.insns)
        # Plain ints in every field: IntEnum members would leak into reprs and comparisons.
        insns = tuple(Insn(int(i.opcode), int(i.dst), int(i.src), int(i.off), int(i.imm))
                      for i in insns)
        self.source_map[index] = SourceLoc(self.filename, line.number, col, line.text.strip())
        self.insns.extend(insns)
        return index

    def finish(self) -> Assembly:
        for fx in self.fixups:
            target = self.labels.get(fx.label.text)
            if target is None and fx.label.text == "exit" and self.first_exit is not None:
                target = self.first_exit  # bpf_conformance: "exit" names the first exit
            if target is None and fx.is_call:
                raise BadInput(
                    f"{self.filename}:{fx.line}:{fx.label.col}: {fx.label.text!r} is neither a "
                    "helper name nor a label: check the spelling (helpers look like "
                    "bpf_map_lookup_elem)"
                )
            if target is None:
                raise BadInput(
                    f"{self.filename}:{fx.line}:{fx.label.col}: undefined label "
                    f"{fx.label.text!r}: define it with '{fx.label.text}:' before an instruction"
                )
            rel = target - fx.index - 1
            ins = self.insns[fx.index]
            if fx.field == "off":
                if not -0x8000 <= rel <= 0x7FFF:
                    raise BadInput(
                        f"{self.filename}:{fx.line}:{fx.label.col}: jump to {fx.label.text!r} is "
                        f"out of range ({rel} instructions; a 16-bit offset reaches +-32767, "
                        "use ja32/gotol for longer unconditional jumps)"
                    )
                self.insns[fx.index] = Insn(ins.opcode, ins.dst, ins.src, rel, ins.imm)
            else:
                self.insns[fx.index] = Insn(ins.opcode, ins.dst, ins.src, ins.off, rel)
        if self.strict:
            self._validate()
        return Assembly(self.insns, dict(self.labels), self.map_refs, self.source_map)

    def _validate(self) -> None:
        i = 0
        while i < len(self.insns):
            reason = check_insn(self.insns[i])
            if reason:
                loc = self.source_map.get(i)
                where = f"{loc.file}:{loc.line}:{loc.col}" if loc else f"instruction {i}"
                raise BadInput(f"{where}: {reason}")
            i += 2 if self.insns[i].is_wide else 1


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class ParserBase:
    """Token helpers, operands and emitting for one line; the syntaxes extend it."""

    def __init__(self, asm: AsmState, line: Line) -> None:
        self.asm = asm
        self.line = line
        self.toks = line.tokens
        self.pos = 0
        self.start = line.tokens[0]

    def parse(self) -> None:
        raise NotImplementedError

    # -- token helpers -----------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        if tok.kind != "end":
            self.pos += 1
        return tok

    def error(self, tok: Token, message: str) -> BadInput:
        return BadInput(f"{self.asm.filename}:{self.line.number}:{tok.col}: {message}")

    def at(self, *texts: str) -> bool:
        return self.peek().text in texts and self.peek().kind != "end"

    def accept(self, *texts: str) -> Token | None:
        return self.next() if self.at(*texts) else None

    def expect(self, text: str, what: str | None = None) -> Token:
        tok = self.peek()
        if tok.text != text or tok.kind == "end":
            found = f"{tok.text!r}" if tok.kind != "end" else "end of line"
            raise self.error(tok, f"expected {what or repr(text)}, found {found}")
        return self.next()

    def end(self) -> None:
        tok = self.peek()
        if tok.text == "<":
            # llvm-objdump appends "<LBB0_2>" to jump targets: a comment for us.
            while self.peek().kind != "end":
                self.next()
            return
        if tok.kind != "end":
            raise self.error(tok, f"unexpected {tok.text!r} after the instruction")

    # -- operands ------------------------------------------------------------
    def register(self, *, allow_w: bool = True) -> tuple[int, bool, Token]:
        """A register ``r3``/``%r3``/``w3``: (number, is 32-bit name, token)."""
        tok = self.next()
        name = tok.text.lower().removeprefix("%") if tok.kind == "name" else ""
        if len(name) >= 2 and name[0] in "rw" and name[1:].isdigit():
            num = int(name[1:])
            limit = 10 if self.asm.strict else 15
            if num > limit:
                raise self.error(tok, f"bad register {tok.text!r}: registers are r0-r10")
            if name[0] == "w" and not allow_w:
                raise self.error(tok, f"bad register {tok.text!r}: expected r0-r10")
            return num, name[0] == "w", tok
        found = repr(tok.text) if tok.kind != "end" else "end of line"
        raise self.error(tok, f"expected a register (r0-r10), found {found}")

    def is_register(self, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        name = tok.text.lower().removeprefix("%") if tok.kind == "name" else ""
        return len(name) >= 2 and name[0] in "rw" and name[1:].isdigit()

    def number(self, lo: int, hi: int, what: str, expect: str | None = None) -> int:
        """A signed decimal/hex constant within [lo, hi] (``expect``: what a bad token
        was instead of, when that is more than a number)."""
        first = self.peek()
        sign = 1
        if self.accept("-"):
            sign = -1
        else:
            self.accept("+")
        tok = self.next()
        if tok.kind != "num":
            found = repr(tok.text) if tok.kind != "end" else "end of line"
            raise self.error(tok, f"expected {expect or what}, found {found}")
        value = sign * tok.value
        if not lo <= value <= hi:
            raise self.error(first, f"{what} {value} out of range [{lo}, {hi}]")
        return value

    def imm32(self, what: str = "immediate", expect: str | None = None) -> int:
        """A 32-bit immediate, written signed or unsigned (0xffffffff == -1).

        A 64-bit constant is accepted when it is exactly what the sign-extended
        immediate stands for (``0xffffffffffffff80`` == -128), as bpf_conformance writes it.
        """
        first = self.peek()
        value = self.number(S32_MIN, (1 << 64) - 1, what, expect)
        if value > U32_MAX:
            if value < (1 << 64) + S32_MIN:
                raise self.error(first, f"{what} 0x{value:x} does not fit in 32 bits "
                                 "(use lddw / 'll' for a 64-bit constant)")
            value -= 1 << 64
        return _s32(value)

    def offset16(self) -> int:
        return self.number(-0x8000, 0x7FFF, "offset")

    def is_number(self) -> bool:
        tok = self.peek()
        return tok.kind == "num" or (tok.text in "+-" and tok.kind == "punct"
                                     and self.peek(1).kind == "num")

    def target(self, index_field: str) -> tuple[int, Token | None]:
        """A jump target: ``+N``/``-N``/``N``/``pc+N`` or a label (resolved later)."""
        tok = self.peek()
        if tok.text == "pc" and self.peek(1).text in "+-" and self.peek(1).kind == "punct":
            self.next()
        if self.is_number():
            if index_field == "off":
                return self.number(-0x8000, 0x7FFF, "jump offset"), None
            return self.number(S32_MIN, S32_MAX, "jump offset"), None
        if tok.kind == "name":
            self.next()
            return 0, tok
        found = repr(tok.text) if tok.kind != "end" else "end of line"
        raise self.error(tok, f"expected a jump target (+N, -N or a label), found {found}")

    def mem_brackets(self) -> tuple[int, int]:
        """``[%r1+8]`` / ``[r1 - 0x8]`` / ``[r1]``: (register, offset)."""
        self.expect("[", "a memory operand like [%r1+8]")
        reg, _, _ = self.register()
        off = 0
        if self.at("+", "-"):
            off = self.offset16()
        self.expect("]")
        return reg, off

    def mem_parens(self) -> tuple[int, int]:
        """``(r1 + 8)`` / ``(r10 -8)``: (register, offset)."""
        self.expect("(")
        reg, off = self.reg_plus_off()
        self.expect(")")
        return reg, off

    def reg_plus_off(self) -> tuple[int, int]:
        reg, _, _ = self.register()
        off = 0
        if self.at("+", "-"):
            off = self.offset16()
        return reg, off

    def ctype(self, signed_ok: bool = False) -> tuple[int, bool]:
        """``(u32 *)``-style cast after the ``*``/``(``: (size, sign-extending)."""
        tok = self.next()
        name = tok.text.lower()
        if name in UNSIGNED_TYPES:
            size, sx = UNSIGNED_TYPES[name], False
        elif signed_ok and name in SIGNED_TYPES:
            size, sx = SIGNED_TYPES[name], True
        else:
            kinds = "u8, u16, u32, u64" + (", s8, s16, s32" if signed_ok else "")
            raise self.error(tok, f"expected a type ({kinds}), found {tok.text!r}")
        self.expect("*")
        self.expect(")")
        return size, sx

    # -- emitting --------------------------------------------------------------
    def emit(self, ins: Insn, label: Token | None = None, field: str = "off") -> None:
        index = self.asm.emit(self.line, self.start.col, ins)
        if label is not None:
            self.asm.fixups.append(Fixup(index, label, self.line.number, field))

    def emit_wide(self, dst: int, value: int, src: int, second_imm: int | None = None,
                  label: Token | None = None, map_name: str | None = None) -> None:
        if src != PseudoSrc.IMM:
            # Pseudo loads carry a 32-bit number (fd, id, offset) and a second-slot imm.
            value = (value & 0xFFFFFFFF) | ((second_imm or 0) & 0xFFFFFFFF) << 32
        first, second = lddw(dst, value, src)
        index = self.asm.emit(self.line, self.start.col, first, second)
        if label is not None:
            self.asm.fixups.append(Fixup(index, label, self.line.number, "imm"))
        if map_name is not None:
            kind = PseudoSrc.MAP_VALUE if src == PseudoSrc.MAP_VALUE else PseudoSrc.MAP_FD
            self.asm.map_refs.append(MapRef(index, map_name, kind, second_imm or 0))

