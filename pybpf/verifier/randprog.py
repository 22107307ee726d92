"""Random XDP programs for differential testing of the verifier.

Programs are built from snippets that are each *usually* safe (a map lookup
with a null check, a packet load after a data_end comparison, a bounded loop)
but go wrong at a small rate (no check, an offset one past the end, an
uninitialised register), so about half the programs are rejected. The same
program can be given to the kernel verifier (agreement) and, when accepted, run
in the vm (soundness: it must never fault).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..asm.insn import Insn, lddw
from ..asm.opcodes import Alu, CallSrc, Class, Jmp, Mode, PseudoSrc, Size, Source
from ..spec import MapRef, MapSpec, ProgramSpec
from ..uapi import HELPER_IDS, MapType, ProgType
from .source import ValueLayout

MAPS = (
    MapSpec("rp_hash", MapType.HASH, 4, 8, 16,
            contents=[(k.to_bytes(4, "little"), bytes(8)) for k in range(6)]),
    MapSpec("rp_array", MapType.ARRAY, 4, 16, 4),
    MapSpec("rp_events", MapType.RINGBUF, 0, 0, 4096),
    MapSpec("rp_locked", MapType.ARRAY, 4, 16, 1, value_type=ValueLayout(0)),
)
_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


def _alu(op: int, dst: int, imm: int = 0, src: int | None = None, *, w: bool = False) -> Insn:
    cls = Class.ALU if w else Class.ALU64
    if src is None:
        return Insn(cls | op | Source.K, dst, 0, 0, imm)
    return Insn(cls | op | Source.X, dst, src, 0, 0)


def _jmp(op: int, dst: int, off: int, imm: int = 0, src: int | None = None) -> Insn:
    if src is None:
        return Insn(Class.JMP | op | Source.K, dst, 0, off, imm)
    return Insn(Class.JMP | op | Source.X, dst, src, off, 0)


def _ldx(size: int, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.LDX | Mode.MEM | _SIZES[size], dst, src, off, 0)


def _stx(size: int, dst: int, src: int, off: int) -> Insn:
    return Insn(Class.STX | Mode.MEM | _SIZES[size], dst, src, off, 0)


def _st(size: int, dst: int, off: int, imm: int) -> Insn:
    return Insn(Class.ST | Mode.MEM | _SIZES[size], dst, 0, off, imm)


def _call(name: str) -> Insn:
    return Insn(Class.JMP | Jmp.CALL, 0, CallSrc.HELPER, 0, HELPER_IDS[name])


EXIT = Insn(Class.JMP | Jmp.EXIT)


@dataclass
class RandomProgram:
    insns: list[Insn]
    seed: int

    def spec(self) -> ProgramSpec:
        """As a spec whose map loads name the maps (for the vm and kernel backends)."""
        refs = [MapRef(i, MAPS[ins.imm].name, PseudoSrc.MAP_FD)
                for i, ins in enumerate(self.insns)
                if ins.is_wide and ins.src == PseudoSrc.MAP_FD]
        return ProgramSpec(f"rp{self.seed}", ProgType.XDP, list(self.insns), map_refs=refs)


class _Gen:
    def __init__(self, seed: int, risk: float) -> None:
        self.r = random.Random(seed)
        self.risk = risk
        self.out: list[Insn] = []
        self.calls: list[int] = []
        self.loops: list[int] = []

    def bad(self) -> bool:
        return self.r.random() < self.risk

    def emit(self, *ins: Insn) -> None:
        self.out.extend(ins)

    def scratch(self) -> int:
        return self.r.choice((0, 1, 2, 3, 4, 5))

    def reinit(self) -> None:
        """Helpers clobber r1-r5: write them again (mostly)."""
        for reg in (1, 2, 3, 4, 5):
            if not self.bad():
                self.emit(_alu(Alu.MOV, reg, self.r.randint(-100, 100)))

    # -- snippets ------------------------------------------------------------
    def alu(self) -> None:
        op = self.r.choice((Alu.ADD, Alu.SUB, Alu.MUL, Alu.OR, Alu.AND, Alu.XOR, Alu.LSH,
                            Alu.RSH, Alu.ARSH, Alu.MOV, Alu.DIV, Alu.MOD))
        d = self.scratch()
        w = self.r.random() < 0.3
        if self.r.random() < 0.5:
            imm = self.r.randint(0, 31) if op in (Alu.LSH, Alu.RSH, Alu.ARSH) else \
                self.r.choice((self.r.randint(-50, 50), self.r.randint(1, 1 << 20)))
            if op in (Alu.DIV, Alu.MOD) and imm == 0:
                imm = 3
            self.emit(_alu(op, d, imm, w=w))
        else:
            if op in (Alu.LSH, Alu.RSH, Alu.ARSH):
                op = Alu.ADD
            self.emit(_alu(op, d, src=self.scratch(), w=w))

    def stack(self) -> None:
        size = self.r.choice((1, 2, 4, 8))
        off = -self.r.randint(1, 64 // size) * size
        if self.bad():
            off = self.r.choice((-520, 0, off + 1 if size > 1 else -513))
        if self.r.random() < 0.6:
            self.emit(_stx(size, 10, self.scratch(), off))
        else:
            self.emit(_st(size, 10, off, self.r.randint(-9, 9)))
        if self.r.random() < 0.5:
            self.emit(_ldx(size, self.scratch(), 10, off))

    def lookup(self) -> None:
        mi = self.r.randrange(len(MAPS))
        m = MAPS[mi]
        self.emit(_st(4, 10, -4, self.r.randint(0, 5)))
        self.emit(_alu(Alu.MOV, 2, src=10), _alu(Alu.ADD, 2, -4))
        self.emit(*lddw(1, mi, PseudoSrc.MAP_FD))
        self.emit(_call("map_lookup_elem"))
        body: list[Insn] = []
        size = self.r.choice((1, 2, 4, 8))
        off = self.r.randint(0, max(0, m.value_size - size))
        if self.bad():
            off = m.value_size - size + self.r.randint(1, 4)
        if self.r.random() < 0.3:
            body.append(_ldx(4, 3, 0, 0))
            mask = self.r.choice((3, 7)) if not self.bad() else 15
            body.append(_alu(Alu.AND, 3, mask))
            body.append(_alu(Alu.ADD, 0, src=3))
            off = 0 if not self.bad() else 8
        if self.r.random() < 0.5:
            body.append(_ldx(size, self.r.choice((3, 4)), 0, off))
        else:
            body.append(_stx(size, 0, 6, off))  # r6 holds the context: ok for root
            body[-1] = _st(size, 0, off, 7)
        if not self.bad():
            self.emit(_jmp(Jmp.JEQ, 0, len(body)))
        self.emit(*body)
        self.reinit()

    def packet(self) -> None:
        k = self.r.randint(1, 40)
        size = self.r.choice((1, 2, 4))
        off = self.r.randint(0, max(0, k - size))
        if self.bad():
            off = k - size + self.r.randint(1, 3)
        self.emit(_alu(Alu.MOV, 2, src=7), _alu(Alu.ADD, 2, k))
        access = _ldx(size, self.r.choice((3, 4)), 7, off)
        if self.bad():
            self.emit(_jmp(Jmp.JGT, 2, 1, src=8), _alu(Alu.MOV, 3, 0), access)
            return
        self.emit(_jmp(Jmp.JGT, 2, 1, src=8), access)

    def loop(self) -> None:
        n = self.r.randint(1, 12)
        reg = self.r.choice((4, 5))
        self.emit(_alu(Alu.MOV, reg, 0))
        body = [_alu(Alu.ADD, 3, 1)]
        self.emit(*body, _alu(Alu.ADD, reg, 1))
        back = -(len(body) + 2)
        self.emit(_jmp(Jmp.JLT, reg, back, n))

    def helper(self) -> None:
        self.emit(_call(self.r.choice(("ktime_get_ns", "get_prandom_u32",
                                       "get_smp_processor_id"))))
        self.reinit()

    def branch(self) -> None:
        d = self.scratch()
        op = self.r.choice((Jmp.JEQ, Jmp.JNE, Jmp.JGT, Jmp.JSGT, Jmp.JLT, Jmp.JSET))
        self.emit(_jmp(op, d, 1, self.r.randint(-20, 20)))
        self.alu()

    def bounded_index(self) -> None:
        """A value read from a map, bounded by a comparison, used as an offset."""
        self.emit(_st(4, 10, -4, self.r.randint(0, 3)))
        self.emit(_alu(Alu.MOV, 2, src=10), _alu(Alu.ADD, 2, -4))
        self.emit(*lddw(1, 1, PseudoSrc.MAP_FD), _call("map_lookup_elem"))
        limit = self.r.choice((8, 9, 12, 15)) if not self.bad() else 16
        op, w = self.r.choice(((Jmp.JGT, False), (Jmp.JGE, False), (Jmp.JSGT, False),
                               (Jmp.JGT, True)))
        size = self.r.choice((1, 2, 4, 8))
        body = [_ldx(4, 3, 0, 0)]
        if op == Jmp.JSGT and not self.bad():
            body.append(_jmp(Jmp.JSLT, 3, 0, 0))  # patched below
        body.append(Insn((Class.JMP32 if w else Class.JMP) | op | Source.K, 3, 0, 0,
                         limit - size + (1 if op == Jmp.JGE else 0)))
        body += [_alu(Alu.ADD, 0, src=3), _ldx(size, 4, 0, 0)]
        n = len(body)
        body = [Insn(b.opcode, b.dst, b.src, n - i - 1, b.imm)
                if b.cls in (Class.JMP, Class.JMP32) else b for i, b in enumerate(body)]
        self.emit(_jmp(Jmp.JEQ, 0, n), *body)
        self.reinit()

    def ringbuf(self) -> None:
        size = self.r.choice((8, 16))
        self.emit(*lddw(1, 2, PseudoSrc.MAP_FD), _alu(Alu.MOV, 2, size), _alu(Alu.MOV, 3, 0))
        self.emit(_call("ringbuf_reserve"))
        off = self.r.randint(0, size - 8) if not self.bad() else size - 4
        done = "ringbuf_discard" if self.r.random() < 0.5 else "ringbuf_submit"
        tail = [_st(8, 0, off, 1), _alu(Alu.MOV, 1, src=0), _alu(Alu.MOV, 2, 0), _call(done)]
        if self.bad():
            tail = tail[:1]  # leaks the record
        self.emit(_jmp(Jmp.JEQ, 0, len(tail)), *tail)
        self.reinit()

    def spill(self) -> None:
        """Spill a pointer to the stack and use it after filling it back."""
        off = -8 * self.r.randint(3, 8)
        src = self.r.choice((6, 7))
        self.emit(_stx(8, 10, src, off))
        size = 8 if not self.bad() else 4
        self.emit(_ldx(size, 9, 10, off))
        if src == 6:
            self.emit(_ldx(4, 3, 9, self.r.choice((12, 16)) if not self.bad() else 20))

    def ctx_read(self) -> None:
        off = self.r.choice((12, 16)) if not self.bad() else self.r.choice((20, 2, 24))
        self.emit(_ldx(4, self.scratch(), 6, off))

    def subcall(self) -> None:
        """Call a local function (emitted after the main exit) with a stack pointer."""
        self.emit(_st(8, 10, -16, 5))
        self.emit(_alu(Alu.MOV, 1, src=10), _alu(Alu.ADD, 1, -16))
        self.calls.append(len(self.out))
        self.emit(Insn(Class.JMP | Jmp.CALL, 0, CallSrc.LOCAL, 0, 0))
        self.reinit()

    def bpf_loop(self) -> None:
        """bpf_loop with a callback that adds the index into a counter on our stack."""
        self.emit(_st(8, 10, -24, 0))
        self.emit(_alu(Alu.MOV, 1, self.r.randint(0, 20)))
        self.loops.append(len(self.out))
        self.emit(*lddw(2, 0, PseudoSrc.FUNC))
        self.emit(_alu(Alu.MOV, 3, src=10), _alu(Alu.ADD, 3, -24), _alu(Alu.MOV, 4, 0))
        self.emit(_call("loop"))
        if self.r.random() < 0.5:
            self.emit(_ldx(8, 4, 10, -24))
        self.reinit()

    def spin_lock(self) -> None:
        self.emit(_st(4, 10, -4, 0))
        self.emit(_alu(Alu.MOV, 2, src=10), _alu(Alu.ADD, 2, -4))
        self.emit(*lddw(1, 3, PseudoSrc.MAP_FD), _call("map_lookup_elem"))
        body = [_alu(Alu.MOV, 9, src=0), _alu(Alu.MOV, 1, src=0), _call("spin_lock"),
                _st(8, 9, 8 if not self.bad() else 0, 1)]
        if self.bad():
            body.append(_call("ktime_get_ns"))
        if not self.bad():
            body += [_alu(Alu.MOV, 1, src=9), _call("spin_unlock")]
        self.emit(_jmp(Jmp.JEQ, 0, len(body)), *body)
        self.reinit()

    def misc(self) -> None:
        """Less common instructions: atomics, sign extension, byte swaps, 32-bit jumps,
        variable-offset stack reads."""
        k = self.r.randrange(6)
        d = self.scratch()
        if k == 0:
            off = -8 * self.r.randint(5, 8)
            self.emit(_st(8, 10, off, self.r.randint(0, 9)))
            op = self.r.choice((0x00, 0x40, 0x50, 0xA0, 0x01, 0xE1))
            self.emit(Insn(Class.STX | Mode.ATOMIC | Size.DW, 10, self.r.choice((1, 2, 3)), off,
                           op))
        elif k == 1:
            size = self.r.choice((8, 16, 32))
            self.emit(Insn(Class.ALU64 | Alu.MOV | Source.X, d, self.scratch(), size, 0))
        elif k == 2:
            size = self.r.choice((1, 2, 4))
            self.emit(_st(8, 10, -48, self.r.randint(-300, 300)))
            self.emit(Insn(Class.LDX | Mode.MEMSX | _SIZES[size], d, 10, -48, 0))
        elif k == 3:
            self.emit(Insn(Class.ALU | Alu.END | self.r.choice((0, 8)), d, 0, 0,
                           self.r.choice((16, 32, 64))))
            self.emit(Insn(Class.ALU64 | Alu.NEG, self.scratch(), 0, 0, 0))
        elif k == 4:
            op = self.r.choice((Jmp.JEQ, Jmp.JGT, Jmp.JSLT, Jmp.JLE, Jmp.JSET))
            self.emit(Insn(Class.JMP32 | op | Source.X, d, self.scratch(), 1, 0))
            self.alu()
        else:
            self.emit(_st(8, 10, -64, 1), _st(8, 10, -56, 2))
            self.emit(_call("get_prandom_u32"))
            self.emit(_alu(Alu.AND, 0, 7 if not self.bad() else 15))
            self.emit(_alu(Alu.MOV, 2, src=10), _alu(Alu.ADD, 2, -64), _alu(Alu.ADD, 2, src=0))
            self.emit(_ldx(1, 3, 2, self.r.choice((0, 8)) if not self.bad() else 9))
            self.reinit()

    def build(self, n: int) -> list[Insn]:
        self.emit(_alu(Alu.MOV, 6, src=1))
        self.emit(_ldx(4, 7, 1, 0), _ldx(4, 8, 1, 4))
        for reg in (0, 1, 2, 3, 4, 5):
            if not self.bad():
                self.emit(_alu(Alu.MOV, reg, self.r.randint(-5, 5)))
        kinds = (self.alu, self.stack, self.lookup, self.packet, self.loop, self.helper,
                 self.branch, self.bounded_index, self.ringbuf, self.spill, self.ctx_read,
                 self.subcall, self.bpf_loop, self.spin_lock, self.misc)
        weights = (4, 3, 2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 3)
        for _ in range(n):
            self.r.choices(kinds, weights)[0]()
        self.emit(_alu(Alu.MOV, 0, self.r.choice((1, 2))), EXIT)
        if self.calls:
            entry = len(self.out)
            for at in self.calls:
                self.out[at] = Insn(Class.JMP | Jmp.CALL, 0, CallSrc.LOCAL, 0, entry - at - 1)
            off = self.r.choice((0, 8)) if not self.bad() else 16
            self.emit(_ldx(8, 0, 1, off) if off < 16 else _ldx(8, 0, 1, -off))
            self.emit(_alu(Alu.AND, 0, 1), EXIT)
        if self.loops:
            entry = len(self.out)
            for at in self.loops:
                first, second = lddw(2, entry - at - 1, PseudoSrc.FUNC)
                self.out[at], self.out[at + 1] = first, second
            self.emit(_ldx(8, 3, 2, 0), _alu(Alu.ADD, 3, src=1), _stx(8, 2, 3, 0))
            self.emit(_alu(Alu.MOV, 0, 0 if not self.bad() else 2), EXIT)
        return self.out


def random_program(seed: int, *, snippets: int = 6, risk: float = 0.08) -> RandomProgram:
    """A random XDP program; ``risk`` is the chance each snippet takes an unsafe shortcut."""
    return RandomProgram(_Gen(seed, risk).build(snippets), seed)
