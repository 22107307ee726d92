"""The uBPF / bpf_conformance mnemonic syntax: ``add32 %r1, 2``, ``ldxdw %r0, [%r1+8]``."""

from __future__ import annotations

from collections.abc import Callable

from .insn import Insn
from .lexer import Token
from .mnemonics import ALU_MNEMONICS, ATOMIC_MNEMONICS, JMP_MNEMONICS, SIZE_SUFFIX
from .opcodes import END_TO_BE, END_TO_LE, Alu, AtomicOp, Class, Jmp, Mode, Size, Source
from .syntax_shared import SharedSyntax


class UbpfSyntax(SharedSyntax):
    """uBPF mnemonics, one handler per mnemonic family."""

    def ubpf(self, word: str, tok: Token) -> None:
        handler = _ubpf_handler(word)
        if handler is None and tok.kind != "name":
            raise self.error(tok, f"expected an instruction, found {tok.text!r}")
        if handler is None:
            raise self.error(tok, f"unknown mnemonic {tok.text!r}")
        self.next()
        handler(self, word)

    def u_alu(self, word: str) -> None:
        base, cls = _split_width(word, Class.ALU64)
        off = 0
        if base in ("sdiv", "smod"):
            base, off = base[1:], 1
        op = ALU_MNEMONICS[base]
        dst, _, _ = self.register()
        if op == Alu.NEG:
            self.end()
            self.emit(Insn(cls | Alu.NEG, dst))
            return
        self.expect(",")
        if self.is_register():
            src, _, _ = self.register()
            self.end()
            self.emit(Insn(cls | op | Source.X, dst, src, off, 0))
        else:
            imm = self.imm32(expect="a register or constant")
            self.end()
            self.emit(Insn(cls | op | Source.K, dst, 0, off, imm))

    def u_movsx(self, word: str) -> None:
        rest = word[len("movsx"):]
        for width in ("8", "16", "32"):
            if rest.startswith(width):
                cls_part = rest[len(width):]
                break
        else:  # pragma: no cover - guarded by _ubpf_handler
            raise self.error(self.start, f"unknown mnemonic {word!r}")
        cls = Class.ALU if cls_part == "32" else Class.ALU64
        dst, _, _ = self.register()
        self.expect(",")
        src, _, _ = self.register()
        self.end()
        self.emit(Insn(cls | Alu.MOV | Source.X, dst, src, int(width), 0))

    def u_end(self, word: str) -> None:
        if word.startswith(("bswap", "swap")):
            width, opcode = word.removeprefix("b")[4:], Class.ALU64 | Alu.END | END_TO_LE
        elif word.startswith("be"):
            width, opcode = word[2:], Class.ALU | Alu.END | END_TO_BE
        else:
            width, opcode = word[2:], Class.ALU | Alu.END | END_TO_LE
        dst, _, _ = self.register()
        self.end()
        self.emit(Insn(opcode, dst, 0, 0, int(width)))

    def u_ldx(self, word: str) -> None:
        size, mode = _ldx_size(word)
        dst, _, _ = self.register()
        self.expect(",")
        src, off = self.mem_brackets()
        self.end()
        self.emit(Insn(Class.LDX | mode | size, dst, src, off, 0))

    def u_st(self, word: str) -> None:
        size = SIZE_SUFFIX[word[2:]]
        dst, off = self.mem_brackets()
        self.expect(",")
        imm = self.imm32()
        self.end()
        self.emit(Insn(Class.ST | Mode.MEM | size, dst, 0, off, imm))

    def u_stx(self, word: str) -> None:
        size = SIZE_SUFFIX[word[3:]]
        dst, off = self.mem_brackets()
        self.expect(",")
        src, _, _ = self.register()
        self.end()
        self.emit(Insn(Class.STX | Mode.MEM | size, dst, src, off, 0))

    def u_ld_packet(self, word: str) -> None:
        mode = Mode.ABS if word.startswith("ldabs") else Mode.IND
        size = SIZE_SUFFIX[word[5:]]
        src = 0
        if mode == Mode.IND:
            src, _, _ = self.register()
            self.expect(",")
        imm = self.imm32()
        self.end()
        self.emit(Insn(Class.LD | mode | size, 0, src, 0, imm))

    def u_lddw(self, word: str) -> None:
        dst, _, _ = self.register()
        self.expect(",")
        self.wide_value(dst)
        self.end()

    def u_ja(self, word: str) -> None:
        if word == "ja32":
            rel, label = self.target("imm")
            self.end()
            self.emit(Insn(Class.JMP32 | Jmp.JA, 0, 0, 0, rel), label, "imm")
        else:
            rel, label = self.target("off")
            self.end()
            self.emit(Insn(Class.JMP | Jmp.JA, 0, 0, rel, 0), label, "off")

    def u_jcond(self, word: str) -> None:
        base, cls = _split_width(word, Class.JMP)
        cls = Class.JMP32 if cls == Class.ALU else Class.JMP
        dst, _, _ = self.register()
        self.expect(",")
        self.cond_jump(cls, JMP_MNEMONICS[base], dst, ",")

    def ubpf_atomic(self) -> None:
        fetch = bool(self.accept("fetch"))
        tok = self.next()
        word = tok.text.lower()
        base, cls = _split_width(word, Class.ALU64)
        size = Size.W if cls == Class.ALU else Size.DW
        if base in ATOMIC_MNEMONICS:
            imm = ATOMIC_MNEMONICS[base] | (AtomicOp.FETCH if fetch else 0)
        elif base == "xchg":
            imm = AtomicOp.XCHG
        elif base == "cmpxchg":
            imm = AtomicOp.CMPXCHG
        else:
            raise self.error(tok, f"unknown atomic operation {tok.text!r} "
                             "(add, or, and, xor, xchg, cmpxchg, with a 32 suffix for words)")
        dst, off = self.mem_brackets()
        self.expect(",")
        src, _, _ = self.register()
        self.end()
        self.emit(Insn(Class.STX | Mode.ATOMIC | size, dst, src, off, imm))



def _split_width(word: str, default: int) -> tuple[str, int]:
    """``add32`` -> ("add", ALU); ``add64``/``add`` -> ("add", default 64-bit class)."""
    if word.endswith("32"):
        return word[:-2], Class.ALU
    if word.endswith("64"):
        return word[:-2], default
    return word, default


def _ldx_size(word: str) -> tuple[int, int]:
    """``ldxw`` -> (W, MEM); ``ldxwsx``/``ldxsw`` -> (W, MEMSX)."""
    rest = word[3:]
    if rest.endswith("sx"):
        return SIZE_SUFFIX[rest[:-2]], Mode.MEMSX
    if rest.startswith("s") and rest[1:] in ("b", "h", "w"):
        return SIZE_SUFFIX[rest[1:]], Mode.MEMSX
    return SIZE_SUFFIX[rest], Mode.MEM




_Handler = Callable[[UbpfSyntax, str], None]


def _ubpf_handler(word: str) -> _Handler | None:
    """The uBPF mnemonic's parser method, or None for an unknown mnemonic."""
    if word in _UBPF_FIXED:
        return _UBPF_FIXED[word]
    base, _ = _split_width(word, Class.ALU64)
    if base in ALU_MNEMONICS or base in ("sdiv", "smod"):
        return UbpfSyntax.u_alu
    if base in JMP_MNEMONICS:
        return UbpfSyntax.u_jcond
    if word in _MOVSX:
        return UbpfSyntax.u_movsx
    return None


_UBPF_FIXED: dict[str, _Handler] = {"lddw": UbpfSyntax.u_lddw, "ja": UbpfSyntax.u_ja,
                                    "ja32": UbpfSyntax.u_ja}
for _w in ("16", "32", "64"):
    for _p in ("le", "be", "bswap", "swap"):
        _UBPF_FIXED[_p + _w] = UbpfSyntax.u_end
for _s in SIZE_SUFFIX:
    _UBPF_FIXED["ldx" + _s] = UbpfSyntax.u_ldx
    _UBPF_FIXED["st" + _s] = UbpfSyntax.u_st
    _UBPF_FIXED["stx" + _s] = UbpfSyntax.u_stx
    _UBPF_FIXED["ldabs" + _s] = UbpfSyntax.u_ld_packet
    _UBPF_FIXED["ldind" + _s] = UbpfSyntax.u_ld_packet
for _s in ("b", "h", "w"):
    _UBPF_FIXED[f"ldx{_s}sx"] = UbpfSyntax.u_ldx
    _UBPF_FIXED[f"ldxs{_s}"] = UbpfSyntax.u_ldx
_MOVSX = {f"movsx{a}{b}" for a in (8, 16, 32) for b in ("", "32", "64")}
