"""Operands both syntaxes share: calls, 64-bit immediate loads (maps, functions) and ``.insn``."""

from __future__ import annotations

from .insn import Insn
from .mnemonics import helper_id
from .opcodes import CallSrc, Class, Jmp, PseudoSrc, Source
from .parsing import S32_MAX, S32_MIN, U32_MAX, Fixup, ParserBase


class SharedSyntax(ParserBase):
    """Parsing that reads the same in uBPF and kernel syntax."""

    # -- shared: the tail of a conditional jump -------------------------------------
    def cond_jump(self, cls: int, op: int, dst: int, sep: str,
                  width: bool | None = None) -> None:
        """Read ``src-or-imm <sep> target``, then emit the jump. ``width`` (kernel syntax):
        whether dst was written ``wN``; a register operand must then match it."""
        if self.is_register():
            src, w2, stok = self.register()
            if width is not None and w2 != width:
                raise self.error(stok, "compare registers of one width (r with r, w with w)")
            opcode, imm = cls | op | Source.X, 0
        else:
            src, imm = 0, self.imm32(expect="a register or constant")
            opcode = cls | op | Source.K
        self.expect(sep)
        rel, label = self.target("off")
        self.end()
        self.emit(Insn(opcode, dst, src, rel, imm), label, "off")

    # -- shared: call / exit -------------------------------------------------------
    def call(self, word: str) -> None:
        op = Class.JMP | Jmp.CALL
        if word == "callx" or self.is_register():
            reg, _, _ = self.register()
            self.end()
            self.emit(Insn(op | Source.X, reg, 0, 0, 0))
            return
        tok = self.peek()
        mode = tok.text.lower() if tok.kind == "name" else ""
        if mode == "local":
            self.next()
            rel, label = self.target("imm")
            self.end()
            self.emit(Insn(op, 0, CallSrc.LOCAL, 0, rel), label, "imm")
            return
        if mode in ("runtime", "kfunc"):
            self.next()
            imm = self.imm32("kfunc BTF id")
            self.end()
            self.emit(Insn(op, 0, CallSrc.KFUNC, 0, imm))
            return
        if mode == "kernel" and self.peek(1).text == "-" and self.peek(2).text == "function":
            self.pos += 3  # bpftool: "call kernel-function#ID"
            self.expect("#")
            imm = self.imm32("kfunc BTF id")
            self.end()
            self.emit(Insn(op, 0, CallSrc.KFUNC, 0, imm))
            return
        if mode == "helper":
            self.next()
            if self.is_register():
                self.call("callx")
                return
        if tok.text == "pc" and self.peek(1).text in ("+", "-"):
            self.next()
            rel = self.number(S32_MIN, S32_MAX, "call offset")
            if self.accept("#"):  # bpftool appends the callee's symbol: "call pc+20#bpf_prog_.."
                self.next()
            self.end()
            self.emit(Insn(op, 0, CallSrc.LOCAL, 0, rel))
            return
        if self.is_number():
            imm = self.imm32("helper id")
            self.end()
            # llvm-objdump prints a bpf-to-bpf call as "call -1" too; its raw bytes tell.
            regs = self.line.listed_regs
            src = regs >> 4 if regs is not None and regs >> 4 in (1, 2) else CallSrc.HELPER
            self.emit(Insn(op, 0, src, 0, imm))
            return
        name_tok = self.next()
        if name_tok.kind != "name":
            raise self.error(name_tok, "expected a helper id, helper name or label after call")
        hid = helper_id(name_tok.text)
        if self.accept("#"):
            number = self.imm32("helper id")
            self.end()
            self.emit(Insn(op, 0, CallSrc.HELPER, 0, number))
            return
        self.end()
        if hid is not None and name_tok.text not in self.asm.labels:
            self.emit(Insn(op, 0, CallSrc.HELPER, 0, hid))
        elif mode == "helper":
            raise self.error(name_tok, f"unknown helper {name_tok.text!r}")
        else:
            # Not a helper name: a bpf-to-bpf call to a label.
            self.emit(Insn(op, 0, CallSrc.LOCAL, 0, 0))
            self.asm.fixups.append(Fixup(len(self.asm.insns) - 1, name_tok, self.line.number,
                                          "imm", is_call=True))

    # -- .insn OPCODE, DST, SRC, OFF, IMM ----------------------------------------------
    def raw_insn(self) -> None:
        opcode = self.number(0, 0xFF, "opcode")
        self.expect(",")
        dst = self.number(0, 15, "dst register number")
        self.expect(",")
        src = self.number(0, 15, "src register number")
        self.expect(",")
        off = self.offset16()
        self.expect(",")
        imm = self.imm32()
        self.end()
        self.emit(Insn(opcode, dst, src, off, imm))


    # -- 64-bit immediate operands ---------------------------------------------------
    def wide_value(self, dst: int) -> None:
        """The right-hand side of an lddw: constant or one of the pseudo forms."""
        tok = self.peek()
        word = tok.text.lower() if tok.kind == "name" else ""
        if self.is_number():
            value = self.number(-(1 << 63), (1 << 64) - 1, "64-bit immediate")
            self.accept("ll")
            self.emit_wide(dst, value, PseudoSrc.IMM)
            return
        if word == "map" and self.peek(1).text == "[":
            self.next()
            self.bpftool_map(dst)
            return
        if word == "subprog" and self.peek(1).text == "[":
            self.next()
            self.next()
            rel, label = self.target("imm")
            self.expect("]")
            self.emit_wide(dst, rel, PseudoSrc.FUNC, 0, label)
            return
        if word in PSEUDO_FUNCS:
            self.next()
            self.expect("(")
            self.pseudo_call(dst, word)
            return
        raise self.error(tok, "expected a 64-bit constant or a map/function reference "
                         "(map_fd(N), map_value(NAME)+OFF, map[id:N], code_addr(LABEL))")

    def map_operand(self) -> tuple[int, str | None]:
        """A map named by number (fd, id or index) or by name."""
        if self.is_number():
            return self.imm32("map fd"), None
        tok = self.next()
        if tok.kind != "name":
            raise self.error(tok, "expected a map fd or a map name")
        return 0, tok.text

    def value_offset(self) -> int:
        if self.at("+", "-"):
            return self.number(S32_MIN, U32_MAX, "map value offset")
        return 0

    def pseudo_call(self, dst: int, word: str) -> None:
        kind = PSEUDO_FUNCS[word]
        if kind == "value":  # map_val(map_by_fd(X)) or map_val(map_by_idx(N)) or map_value(X)
            inner = self.peek().text.lower()
            if word == "map_val" and inner in ("map_by_fd", "map_fd", "map_by_idx", "map_idx"):
                self.next()
                self.expect("(")
                imm, name = self.map_operand()
                self.expect(")")
                self.expect(")")
                src = PseudoSrc.MAP_IDX_VALUE if "idx" in inner else PseudoSrc.MAP_VALUE
            else:
                imm, name = self.map_operand()
                self.expect(")")
                src = PseudoSrc.MAP_VALUE
            off = self.value_offset()
            if name is not None and src == PseudoSrc.MAP_IDX_VALUE:
                raise self.error(self.start, "a map by index takes a number, not a name")
            self.emit_wide(dst, imm, src, off, map_name=name)
        elif kind == "fd":
            imm, name = self.map_operand()
            self.expect(")")
            self.emit_wide(dst, imm, PseudoSrc.MAP_FD, map_name=name)
        elif kind == "idx":
            imm = self.imm32("map index")
            self.expect(")")
            self.emit_wide(dst, imm, PseudoSrc.MAP_IDX)
        elif kind == "btf":
            imm = self.imm32("BTF id")
            self.expect(")")
            self.emit_wide(dst, imm, PseudoSrc.BTF_ID)
        else:  # code address
            rel, label = self.target("imm")
            self.expect(")")
            self.emit_wide(dst, rel, PseudoSrc.FUNC, 0, label)

    def bpftool_map(self, dst: int) -> None:
        """bpftool's ``map[id:N]``, ``map[id:N][0]+OFF``, ``map[idx:N]``, ``map[idx:N]+OFF``,
        and our ``map[name:X]`` / ``map[name:X][0]+OFF``."""
        self.expect("[")
        key_tok = self.next()
        key = key_tok.text.lower()
        if key not in ("id", "idx", "name", "fd"):
            raise self.error(key_tok, "expected map[id:N], map[idx:N] or map[name:NAME]")
        self.expect(":")
        if key == "name":
            imm, name = self.map_operand()
        else:
            imm, name = self.imm32("map id"), None
        self.expect("]")
        value = False
        if self.accept("["):
            self.expect("0")
            self.expect("]")
            value = True
        if self.at("+", "-"):
            value = True
        off = self.value_offset()
        if key == "idx":
            self.emit_wide(dst, imm, PseudoSrc.MAP_IDX_VALUE if value else PseudoSrc.MAP_IDX,
                           off if value else None)
        else:
            self.emit_wide(dst, imm, PseudoSrc.MAP_VALUE if value else PseudoSrc.MAP_FD,
                           off if value else None, map_name=name)



# pseudo-function spellings of the lddw forms -> kind
PSEUDO_FUNCS: dict[str, str] = {
    "map_fd": "fd", "map_by_fd": "fd", "map_val": "value", "map_value": "value",
    "map_by_idx": "idx", "map_idx": "idx", "btf_id": "btf", "var_addr": "btf",
    "code_addr": "func", "func": "func",
}

# kernel/LLVM atomic call spellings -> (operation, default width)
