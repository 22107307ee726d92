"""The kernel / LLVM C-like syntax: ``r0 = *(u64 *)(r1 + 8)``, ``if w1 s< w2 goto L``."""

from __future__ import annotations

from .insn import Insn
from .lexer import Token
from .mnemonics import (
    ALU_OPERATORS,
    ATOMIC_MNEMONICS,
    JMP_OPERATORS,
    SIGNED_ALU_OPERATORS,
    UNSIGNED_TYPES,
)
from .opcodes import (
    END_TO_BE,
    END_TO_LE,
    LDDW,
    Alu,
    AtomicOp,
    Class,
    Jmp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)
from .parsing import S32_MAX, S32_MIN
from .syntax_shared import PSEUDO_FUNCS, SharedSyntax


class KernelSyntax(SharedSyntax):
    """What bpftool and llvm-objdump print, read back."""

    def kernel(self) -> None:
        tok = self.peek()
        word = tok.text.lower() if tok.kind == "name" else ""
        if word == "if":
            self.next()
            self.k_if()
        elif word in ("goto", "gotol"):
            self.next()
            if word == "gotol":
                rel, label = self.target("imm")
                self.end()
                self.emit(Insn(Class.JMP32 | Jmp.JA, 0, 0, 0, rel), label, "imm")
            else:
                rel, label = self.target("off")
                self.end()
                self.emit(Insn(Class.JMP | Jmp.JA, 0, 0, rel, 0), label, "off")
        elif word == "lock":
            self.next()
            self.k_lock()
        elif tok.text == "*":
            self.k_store()
        else:
            self.k_assign()

    def k_if(self) -> None:
        dst, w, _ = self.register()
        cls = Class.JMP32 if w else Class.JMP
        op_tok = self.next()
        if op_tok.text not in JMP_OPERATORS:
            raise self.error(op_tok, f"expected a comparison (==, !=, >, s<, &, ...), "
                             f"found {op_tok.text!r}")
        self.cond_jump(cls, JMP_OPERATORS[op_tok.text], dst, "goto", width=w)

    def k_store(self) -> None:
        self.expect("*")
        self.expect("(")
        size, _ = self.ctype()
        dst, off = self.mem_parens()
        self.expect("=")
        if self.is_register():
            src, _, _ = self.register()
            self.end()
            self.emit(Insn(Class.STX | Mode.MEM | size, dst, src, off, 0))
        else:
            imm = self.imm32(expect="a register or constant")
            self.end()
            self.emit(Insn(Class.ST | Mode.MEM | size, dst, 0, off, imm))

    def k_lock(self) -> None:
        self.expect("*")
        self.expect("(")
        size, _ = self.ctype()
        dst, off = self.mem_parens()
        op_tok = self.next()
        ops = {"+=": AtomicOp.ADD, "|=": AtomicOp.OR, "&=": AtomicOp.AND, "^=": AtomicOp.XOR}
        if op_tok.text not in ops:
            raise self.error(op_tok, f"expected +=, |=, &= or ^= after lock, found {op_tok.text!r}")
        src, _, _ = self.register()
        self.end()
        self.emit(Insn(Class.STX | Mode.ATOMIC | size, dst, src, off, ops[op_tok.text]))

    def k_assign(self) -> None:
        dst, w, dtok = self.register()
        cls = Class.ALU if w else Class.ALU64
        op_tok = self.next()
        if op_tok.text in SIGNED_ALU_OPERATORS:
            self.k_alu(cls, dst, w, SIGNED_ALU_OPERATORS[op_tok.text], 1)
            return
        if op_tok.text not in ALU_OPERATORS:
            found = repr(op_tok.text) if op_tok.kind != "end" else "end of line"
            raise self.error(op_tok, f"expected an assignment (=, +=, s>>=, ...), found {found}")
        op = ALU_OPERATORS[op_tok.text]
        if op != Alu.MOV:
            self.k_alu(cls, dst, w, op, 0)
            return
        tok = self.peek()
        word = tok.text.lower() if tok.kind == "name" else ""
        if tok.text == "-" and self.is_register(1):
            self.next()
            reg, w2, rtok = self.register()
            if reg != dst or w2 != w:
                raise self.error(rtok, f"negation works in place: write {dtok.text} = -{dtok.text}")
            self.end()
            self.emit(Insn(cls | Alu.NEG, dst))
        elif tok.text == "(" and self.peek(1).text.lower() in ("s8", "s16", "s32"):
            self.next()
            width = int(self.next().text[1:])
            self.expect(")")
            src, _, _ = self.register()
            self.end()
            self.emit(Insn(cls | Alu.MOV | Source.X, dst, src, width, 0))
        elif tok.text == "*":
            self.k_load(dst)
        elif word[:2] in ("be", "le") and word[2:] in ("16", "32", "64") or \
                word[:5] == "bswap" and word[5:] in ("16", "32", "64"):
            self.next()
            reg, _, rtok = self.register()
            if reg != dst:
                raise self.error(rtok, f"byte swaps work in place: write {dtok.text} = "
                                 f"{tok.text} {dtok.text}")
            self.end()
            if word.startswith("bswap"):
                self.emit(Insn(Class.ALU64 | Alu.END | END_TO_LE, dst, 0, 0, int(word[5:])))
            else:
                direction = END_TO_BE if word.startswith("be") else END_TO_LE
                self.emit(Insn(Class.ALU | Alu.END | direction, dst, 0, 0, int(word[2:])))
        elif word in _KERNEL_ATOMICS:
            self.next()
            self.k_atomic_fn(dst, word)
        elif word in ("map", "subprog") or word in PSEUDO_FUNCS:
            if w:
                raise self.error(dtok, "a 64-bit load needs a 64-bit register (r0-r10)")
            self.wide_value(dst)
            if self.peek().text.lower() == "ll":  # `r1 = map_fd(x) ll`, as LLVM spells lddw
                self.next()
            self.end()
        elif self.is_register():
            self.k_alu(cls, dst, w, Alu.MOV, 0)
        else:
            self.k_mov_imm(cls, dst, w, dtok)

    def k_mov_imm(self, cls: int, dst: int, w: bool, dtok: Token) -> None:
        first = self.peek()
        if not self.is_number():
            found = repr(first.text) if first.kind != "end" else "end of line"
            raise self.error(first, f"expected a register, constant or memory load, found {found}")
        if w:
            imm = self.imm32()
            self.end()
            self.emit(Insn(cls | Alu.MOV | Source.K, dst, 0, 0, imm))
            return
        value = self.number(-(1 << 63), (1 << 64) - 1, "64-bit immediate")
        wide = bool(self.accept("ll")) or self.line.listed_opcode == LDDW
        self.end()
        signed = value - (1 << 64) if value >= 1 << 63 else value
        if wide or not S32_MIN <= signed <= S32_MAX:
            self.emit_wide(dst, value, PseudoSrc.IMM)
        else:
            self.emit(Insn(cls | Alu.MOV | Source.K, dst, 0, 0, signed))

    def k_alu(self, cls: int, dst: int, w: bool, op: int, off: int) -> None:
        if self.is_register():
            src, w2, stok = self.register()
            if w2 != w:
                raise self.error(stok, "use registers of one width (r with r, w with w)")
            self.end()
            self.emit(Insn(cls | op | Source.X, dst, src, off, 0))
        else:
            imm = self.imm32(expect="a register or constant")
            self.end()
            self.emit(Insn(cls | op | Source.K, dst, 0, off, imm))

    def k_load(self, dst: int) -> None:
        self.expect("*")
        self.expect("(")
        size, sx = self.ctype(signed_ok=True)
        if self.peek().text == "skb":
            self.next()
            self.k_skb(dst, size)
            return
        src, off = self.mem_parens()
        self.end()
        self.emit(Insn(Class.LDX | (Mode.MEMSX if sx else Mode.MEM) | size, dst, src, off, 0))

    def k_skb(self, dst: int, size: int) -> None:
        if dst != 0:
            raise self.error(self.start, "legacy packet loads always write r0")
        self.expect("[")
        if self.is_register():
            src, _, _ = self.register()
            imm = 0
            if self.at("+", "-"):
                imm = self.imm32()
            self.expect("]")
            self.end()
            self.emit(Insn(Class.LD | Mode.IND | size, 0, src, 0, imm))
        else:
            imm = self.imm32()
            self.expect("]")
            self.end()
            self.emit(Insn(Class.LD | Mode.ABS | size, 0, 0, 0, imm))

    def k_atomic_fn(self, dst: int, word: str) -> None:
        """``atomic_fetch_add((u64 *)(r10 - 8), r0)``, ``xchg_64(r10 - 8, r0)``,
        ``cmpxchg_64(r10 - 8, r0, r1)`` and bpftool's ``atomic64_*`` spellings."""
        kind, width = _KERNEL_ATOMICS[word]
        self.expect("(")
        size = None
        if self.at("(") and self.peek(1).text.lower() in UNSIGNED_TYPES:
            self.next()
            size, _ = self.ctype()
            addr, off = self.mem_parens()
        elif self.accept("("):
            addr, off = self.reg_plus_off()
            self.expect(")")
        else:
            addr, off = self.reg_plus_off()
        if size is None:
            size = Size.DW if width == 64 else Size.W
        self.expect(",")
        if kind == "cmpxchg":
            r0, _, r0tok = self.register()
            if r0 != 0 or dst != 0:
                raise self.error(r0tok, "cmpxchg compares with r0 and returns into r0")
            self.expect(",")
        src, _, stok = self.register()
        self.expect(")")
        self.end()
        imm: int
        if kind == "cmpxchg":
            imm = AtomicOp.CMPXCHG
        else:
            if src != dst:
                raise self.error(stok, "fetch and exchange return into their source register: "
                                 f"write r{src} = ...")
            imm = AtomicOp.XCHG if kind == "xchg" else ATOMIC_MNEMONICS[kind] | AtomicOp.FETCH
        self.emit(Insn(Class.STX | Mode.ATOMIC | size, addr, src, off, imm))




_KERNEL_ATOMICS: dict[str, tuple[str, int]] = {}
for _op in ("add", "and", "or", "xor"):
    _KERNEL_ATOMICS[f"atomic_fetch_{_op}"] = (_op, 64)
    _KERNEL_ATOMICS[f"atomic64_fetch_{_op}"] = (_op, 64)
_KERNEL_ATOMICS.update({
    "xchg_64": ("xchg", 64), "xchg32_32": ("xchg", 32), "atomic64_xchg": ("xchg", 64),
    "atomic_xchg": ("xchg", 32), "cmpxchg_64": ("cmpxchg", 64), "cmpxchg32_32": ("cmpxchg", 32),
    "atomic64_cmpxchg": ("cmpxchg", 64), "atomic_cmpxchg": ("cmpxchg", 32),
})

