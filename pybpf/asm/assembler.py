"""Assembly text -> instructions, in both common eBPF syntaxes, mixed freely line by line.

1. uBPF / bpf_conformance mnemonics::

       mov %r0, 1          add32 %r1, %r2       ldxdw %r0, [%r1+8]     stb [%r10-1], 0
       lddw %r0, 0x1122334455667788             jne %r2, 0xffffff80, fail
       lock fetch add32 [%r10-8], %r1            call local f            callx %r8

2. the kernel / LLVM form printed by ``bpftool prog dump xlated`` and ``llvm-objdump -d``::

       r0 = *(u64 *)(r1 + 8)     *(u32 *)(r10 - 4) = r1     if w1 s< w2 goto L
       r1 = 0x1122334455667788 ll                           call bpf_map_lookup_elem
       r0 = atomic_fetch_add((u64 *)(r10 - 8), r0)         r0 = cmpxchg_64(r10 - 8, r0, r1)

Listing prefixes (``  3: (b7) ``, ``  3:\tb7 00 ...\t``) are skipped, so the
output of ``pybpf disasm``, ``bpftool`` and ``llvm-objdump`` assembles again.

64-bit immediate loads (``lddw``) take a constant, ``NUM ll``, or one of:

======================================  ==============================  =================
form                                    meaning                         src of the lddw
======================================  ==============================  =================
``map[id:N]``, ``map_fd(N)``            map with fd (or id) N           1 (MAP_FD)
``map_by_fd(N)``                        same (bpf_conformance)          1
``map[id:N][0]+OFF``, ``map_value(N)+OFF``  address of value + OFF      2 (MAP_VALUE)
``map_val(map_by_fd(N)) + OFF``         same (RFC 9669 spelling)        2
``btf_id(N)``, ``var_addr(N)``          kernel variable by BTF id       3 (BTF_ID)
``subprog[+N]``, ``code_addr(LABEL)``   address of a subprogram         4 (FUNC)
``map[idx:N]``, ``map_by_idx(N)``       N-th map of fd_array            5 (MAP_IDX)
``map[idx:N]+OFF``, ``map_val(map_by_idx(N)) + OFF``                    6 (MAP_IDX_VALUE)
======================================  ==============================  =================

Where a map is written by *name* (``map_fd(events)``, ``map[name:events]``,
``map_value(counts)+8``) the imm stays 0 and the load is recorded in
``Assembly.map_refs`` for the loader to patch. In the kernel form, ``rN = C``
becomes an lddw when C does not fit a sign-extended 32-bit immediate, when
``ll`` follows, or when the listing prefix says opcode 0x18.
"""

from __future__ import annotations

from ..errors import BadInput
from .insn import Insn
from .lexer import split_line
from .opcodes import Class, Jmp
from .parsing import AsmState, Assembly
from .syntax_kernel import KernelSyntax
from .syntax_ubpf import UbpfSyntax

__all__ = ["Assembly", "assemble", "assemble_program"]


def assemble(text: str | bytes, filename: str = "<input>", *,
             strict: bool = True) -> list[Insn]:
    """Assemble ``text``; see the module docstring for the syntax. Errors are ``BadInput``."""
    return assemble_program(text, filename, strict=strict).insns


def assemble_program(text: str | bytes, filename: str = "<input>", *,
                     strict: bool = True) -> Assembly:
    """Assemble ``text`` keeping labels, named map loads and the source line of every slot.

    With ``strict=False`` registers r11-r15 and instructions RFC 9669 forbids are
    accepted as written (for negative tests); otherwise each one is an error.
    ``bytes`` (a file read in binary) must be UTF-8 text.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode()
        except UnicodeDecodeError as e:
            raise BadInput(f"{filename}: not UTF-8 text (byte {e.start}); assembly is text, "
                           "for bytecode use pybpf.asm.decode") from None
    asm = AsmState(filename, strict)
    for number, raw in enumerate(text.splitlines(), 1):
        line = split_line(number, raw, filename)
        if line is not None:
            asm.line(line, _LineParser)
    return asm.finish()


class _LineParser(UbpfSyntax, KernelSyntax):
    """Picks the syntax of a line from its first tokens."""

    def parse(self) -> None:
        tok = self.peek()
        word = tok.text.lower() if tok.kind == "name" else ""
        if word in ("call", "callx"):
            self.next()
            self.call(word)
        elif word == "exit":
            self.next()
            self.end()
            if self.asm.first_exit is None:
                self.asm.first_exit = len(self.asm.insns)
            self.emit(Insn(Class.JMP | Jmp.EXIT))
        elif word == "lock" and self.peek(1).text != "*":
            self.next()
            self.ubpf_atomic()
        elif word in ("lock", "if", "goto", "gotol") or tok.text == "*":
            self.kernel()
        elif self.is_register():
            self.kernel()
        elif word == ".insn":
            self.next()
            self.raw_insn()
        else:
            self.ubpf(word, tok)

