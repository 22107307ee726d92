"""Disassemble a loaded program's translated (xlated) instructions as bpftool prints them.

The kernel's own printer (kernel/bpf/disasm.c, print_bpf_insn) is the format
``bpftool prog dump xlated`` shows: ``(b7) r0 = 0``, ``r1 = map[id:5]``,
``call bpf_map_lookup_elem#123``. Helper calls in xlated code hold an offset from
``__bpf_call_base``, resolved to a name through /proc/kallsyms as bpftool does.
"""

from __future__ import annotations

import bisect
import functools
import struct
import time

from ..asm.opcodes import LDDW

_ALU = {0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=",
        0x70: ">>=", 0x80: "neg", 0x90: "%=", 0xA0: "^=", 0xB0: "=", 0xC0: "s>>=", 0xD0: "endian"}
_ALU_SIGNED = {0x30: "s/=", 0x90: "s%="}
_MOVSX = {8: "(s8)", 16: "(s16)", 32: "(s32)"}
_LDST = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
_LDSX = {0x00: "s32", 0x08: "s16", 0x10: "s8", 0x18: "s64"}
_JMP = {0x00: "jmp", 0x10: "==", 0x20: ">", 0x30: ">=", 0x40: "&", 0x50: "!=", 0x60: "s>",
        0x70: "s>=", 0x80: "call", 0x90: "exit", 0xA0: "<", 0xB0: "<=", 0xC0: "s<", 0xD0: "s<="}
_ATOMIC_ALU = {0x00: "add", 0x50: "and", 0x40: "or", 0xA0: "xor"}
_FMT = struct.Struct("<BBhi")


class _Syms:
    """Sorted kernel symbol addresses from /proc/kallsyms (loaded on first use)."""

    def __init__(self) -> None:
        addrs: list[int] = []
        names: list[str] = []
        self.call_base = 0
        try:
            with open("/proc/kallsyms") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 3:
                        continue
                    a = int(parts[0], 16)
                    if not a:
                        continue
                    if parts[2] == "__bpf_call_base":
                        self.call_base = a
                    addrs.append(a)
                    names.append(parts[2])
        except OSError:
            pass
        order = sorted(range(len(addrs)), key=addrs.__getitem__)
        self.addrs = [addrs[i] for i in order]
        self.names = [names[i] for i in order]
        self.loaded_at = time.monotonic()

    def exact(self, addr: int) -> str | None:
        i = bisect.bisect_left(self.addrs, addr)
        if i < len(self.addrs) and self.addrs[i] == addr:
            return self.names[i]
        return None


@functools.cache
def _syms() -> _Syms:
    return _Syms()


def _symbol(addr: int) -> str | None:
    """The kernel symbol at ``addr``; programs loaded after kallsyms was read trigger one
    re-read (JITed programs add symbols as they load)."""
    s = _syms()
    name = s.exact(addr)
    if name is None and time.monotonic() - s.loaded_at > 0.05:
        _syms.cache_clear()
        name = _syms().exact(addr)
    return name


def _helper_name(imm: int) -> str:
    base = _syms().call_base
    if base:
        name = _symbol((base + imm) & 0xFFFFFFFFFFFFFFFF)
        if name:
            return name
    return "unknown"


def insn_text(code: bytes, i: int) -> tuple[str, int]:
    """The text of the instruction at slot ``i`` of ``code`` and how many slots it uses."""
    op, regs, off, imm = _FMT.unpack_from(code, i * 8)
    dst, src = regs & 0xF, regs >> 4
    cls = op & 7
    head = f"({op:02x})"
    if cls in (4, 7):  # ALU, ALU64
        w = "w" if cls == 4 else "r"
        aop = op & 0xF0
        if aop == 0xD0:
            if cls == 7:
                return f"{head} r{dst} = bswap{imm} r{dst}", 1
            return f"{head} r{dst} = {'be' if op & 8 else 'le'}{imm} r{dst}", 1
        if aop == 0x80:
            return f"{head} {w}{dst} = -{w}{dst}", 1
        name = _ALU_SIGNED[aop] if aop in _ALU_SIGNED and off == 1 else _ALU.get(aop, "?")
        if op & 8:
            sx = _MOVSX.get(off, "") if aop == 0xB0 and off else ""
            return f"{head} {w}{dst} {name} {sx}{w}{src}", 1
        return f"{head} {w}{dst} {name} {imm}", 1
    if cls == 3:  # STX
        size = _LDST[op & 0x18]
        mode = op & 0xE0
        if mode == 0x60:
            return f"{head} *({size} *)(r{dst} {off:+d}) = r{src}", 1
        if mode == 0xC0:
            dw = "64" if op & 0x18 == 0x18 else ""
            if imm in _ATOMIC_ALU:
                name = _ALU[imm & 0xF0]
                return f"{head} lock *({size} *)(r{dst} {off:+d}) {name} r{src}", 1
            if imm & ~1 in _ATOMIC_ALU and imm & 1:
                return (f"{head} r{src} = atomic{dw}_fetch_{_ATOMIC_ALU[imm & ~1]}"
                        f"(({size} *)(r{dst} {off:+d}), r{src})"), 1
            if imm == 0xF1:
                return (f"{head} r0 = atomic{dw}_cmpxchg(({size} *)(r{dst} {off:+d}), "
                        f"r0, r{src})"), 1
            if imm == 0xE1:
                return f"{head} r{src} = atomic{dw}_xchg(({size} *)(r{dst} {off:+d}), r{src})", 1
        return f"BUG_{op:02x}", 1
    if cls == 2:  # ST
        return f"{head} *({_LDST[op & 0x18]} *)(r{dst} {off:+d}) = {imm}", 1
    if cls == 1:  # LDX
        mode = op & 0xE0
        size = (_LDSX if mode == 0x80 else _LDST)[op & 0x18]
        return f"{head} r{dst} = *({size} *)(r{src} {off:+d})", 1
    if cls == 0:  # LD
        mode = op & 0xE0
        size = _LDST[op & 0x18]
        if mode == 0x20:
            return f"{head} r0 = *({size} *)skb[{imm}]", 1
        if mode == 0x40:
            return f"{head} r0 = *({size} *)skb[r{src} + {imm}]", 1
        if op == LDDW and (i + 1) * 8 < len(code):
            _, _, _, hi = _FMT.unpack_from(code, (i + 1) * 8)
            if src == 1:
                val = f"map[id:{imm & 0xFFFFFFFF}]"
            elif src == 2:
                val = f"map[id:{imm & 0xFFFFFFFF}][0]+{hi & 0xFFFFFFFF}"
            elif src == 6:
                val = f"map[idx:{imm & 0xFFFFFFFF}]+{hi & 0xFFFFFFFF}"
            elif src == 4:
                val = f"subprog[{imm:+d}]"
            else:
                val = f"0x{((hi & 0xFFFFFFFF) << 32) | (imm & 0xFFFFFFFF):x}"
            return f"{head} r{dst} = {val}", 2
        return f"BUG_ld_{op:02x}", 1
    # JMP / JMP32
    jop = op & 0xF0
    w = "w" if cls == 6 else "r"
    if jop == 0x80:
        if src == 1:
            return f"{head} call pc{imm:+d}", 1
        return f"{head} call {_helper_name(imm)}#{imm}", 1
    if op == 0x05:
        return f"{head} goto pc{off:+d}", 1
    if op == 0x06:
        return f"{head} gotol pc{imm:+d}", 1
    if op == 0x95:
        return f"{head} exit", 1
    name = _JMP.get(jop, "?")
    if op & 8:
        return f"{head} if {w}{dst} {name} {w}{src} goto pc{off:+d}", 1
    return f"{head} if {w}{dst} {name} 0x{imm & 0xFFFFFFFF:x} goto pc{off:+d}", 1


def _pcrel_call(code: bytes, i: int, jited_ksyms: list[int] | None) -> str | None:
    """bpftool's text for a bpf-to-bpf call in xlated code: ``off`` is the pc-relative
    target, ``imm`` the subprogram's index into the JITed symbols."""
    op, regs, off, imm = _FMT.unpack_from(code, i * 8)
    if op != 0x85 or regs >> 4 != 1:
        return None
    if not jited_ksyms:
        return f"({op:02x}) call pc{off:+d}"
    addr = jited_ksyms[imm] if 0 <= imm < len(jited_ksyms) else 0
    name = _symbol(addr) if addr else None
    return f"({op:02x}) call pc{off:+d}#{name if name else f'0x{addr:x}'}"


def disassemble(code: bytes,
                jited_ksyms: list[int] | None = None) -> list[tuple[int, str, bytes]]:
    """(slot index, text, raw bytes) for every instruction of ``code``.

    Uses the project disassembler (``pybpf.asm.disasm``, kernel syntax) with helper
    names resolved through kallsyms; the printer above is the fallback for what it
    cannot take (a missing module, or instructions it does not decode).
    """
    try:
        out = _with_asm(code)
    except Exception:  # noqa: BLE001 - any failure there: use the built-in printer
        out = []
        i, n = 0, len(code) // 8
        while i < n:
            text, used = insn_text(code, i)
            out.append((i, text, code[i * 8:(i + used) * 8]))
            i += used
    for k, (i, _text, raw) in enumerate(out):
        call = _pcrel_call(code, i, jited_ksyms)
        if call is not None:
            out[k] = (i, call, raw)
    return out


def _with_asm(code: bytes) -> list[tuple[int, str, bytes]]:
    from ..asm.disasm import format_insn
    from ..asm.insn import Insn, decode

    insns = decode(code, validate=False)

    def call_name(ins: Insn) -> str | None:
        return _helper_name(ins.imm)

    out = []
    i, n = 0, len(insns)
    while i < n:
        ins = insns[i]
        nxt = insns[i + 1] if ins.is_wide and i + 1 < n else None
        text = format_insn(ins, nxt, syntax="kernel", index=i, call_name=call_name)
        used = 2 if nxt is not None else 1
        out.append((i, f"({ins.opcode:02x}) {text}", code[i * 8:(i + used) * 8]))
        i += used
    return out
