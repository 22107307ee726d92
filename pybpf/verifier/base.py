"""Shared state of one verification run: the program, the maps, the failure channel.

The analysis is split by job: ``memory`` checks loads and stores, ``calls``
checks helper and function calls, ``analyze`` drives the walk over paths and
handles arithmetic and jumps. Each layer extends the one below.
"""

from __future__ import annotations

import functools
import os

from ..asm.insn import Insn
from ..spec import MapSpec
from ..uapi import HELPER_NAMES
from . import ctx
from .cfg import Cfg
from .ops import Alu, Class, Jmp
from .state import (
    TYPE_NAMES,
    Frame,
    Reg,
    State,
    T,
    Visit,
    ranged,
    unknown,
)

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

MAX_VAR_OFF = 1 << 29
MAX_PACKET_OFF = 0xFFFF
MAX_PENDING = 8192
MAX_VISITS_PER_INSN = 64
RDONLY_PROG = 1 << 7
ALU_NAMES: dict[int, str] = {Alu.ADD: "+", Alu.SUB: "-", Alu.MUL: "*", Alu.DIV: "/", Alu.OR: "|",
             Alu.AND: "&", Alu.LSH: "<<", Alu.RSH: ">>", Alu.NEG: "neg", Alu.MOD: "%",
             Alu.XOR: "^", Alu.ARSH: "s>>", Alu.END: "byte swap"}


class Reject(Exception):
    """The program is unsafe at ``pc``; ``state`` is the abstract state there."""

    def __init__(self, pc: int, reason: str, state: State | None) -> None:
        super().__init__(reason)
        self.pc, self.reason, self.state = pc, reason, state


def kind_name(r: Reg) -> str:
    return TYPE_NAMES.get(r.t, "?")


class AnalyzerBase:
    """The program under analysis and what every check needs."""

    def __init__(self, insns: Sequence[Insn], cfg: Cfg, prog_type: int, maps: list[MapSpec],
                 lddw_map: dict[int, tuple[int, int, int]], *, gpl: bool = True,
                 privileged: bool = True, strict_stack: bool = True,
                 max_insns: int = 1_000_000) -> None:
        self.insns = insns
        self.strict_stack = strict_stack
        self.cfg = cfg
        self.prog_type = prog_type
        self.maps = list(maps)
        self.lddw_map = lddw_map
        self.inner_maps: dict[int, int] = {}  # map of maps -> its inner template in maps
        self.log: list[str] | None = None  # per-instruction trace, when asked for
        self.gpl = gpl
        self.privileged = privileged
        self.max_insns = max_insns
        self.ctx_check = ctx.checker(prog_type)
        self.explored: dict[int, list[Visit]] = {}
        self.last_add = 0
        self.processed = 0
        self.states = 0
        self.peak_states = 0
        self.depth: dict[int, int] = {}  # subprog -> deepest stack byte used
        self.calls: dict[int, set[int]] = {}  # subprog -> subprogs it calls
        self.mem_kinds: dict[int, int] = {}  # load/store insn -> bit set of base pointer types
        self.pc = 0
        self.st: State | None = None

    def _done(self, st: State) -> None:
        v = st.parent
        while v is not None:
            v.branches -= 1
            if v.branches:
                break
            v = v.parent

    def _fork(self, st: State, pc: int, pending: list[tuple[int, State]]) -> None:
        if st.parent is not None:
            st.parent.branches += 1
        pending.append((pc, st))
        self.peak_states = max(self.peak_states, len(pending))
        if len(pending) > MAX_PENDING:
            self.fail(f"more than {MAX_PENDING} paths are pending: the branching is too complex")

    def fail(self, reason: str) -> NoReturn:
        raise Reject(self.pc, reason, self.st)

    # -- registers --------------------------------------------------------
    def read(self, regs: list[Reg], r: int) -> Reg:
        v = regs[r]
        if v.t == T.NOT_INIT:
            self.fail(f"r{r} is read before any value was written to it")
        return v

    def write_check(self, r: int) -> None:
        if r == 10:
            self.fail("r10 is the read-only frame pointer; copy it to another register first")

    def _origin(self, r: Reg) -> str:
        """Where a value came from, in words (for messages)."""
        i = r.src
        if 0 <= i < len(self.insns):
            ins = self.insns[i]
            if ins.cls == Class.JMP and ins.opcode & 0xF0 == Jmp.CALL and ins.src == 0 \
                    and 0 <= ins.imm < len(HELPER_NAMES):
                return f"bpf_{HELPER_NAMES[ins.imm]} at insn {i}"
            return f"insn {i}"
        return "its source"

    def _ptr_leak(self, r: int, v: Reg, what: str) -> None:
        if not self.privileged:
            self.fail(f"r{r} holds a pointer ({kind_name(v)}); {what} of a pointer would leak it "
                      "(allowed only for privileged programs)")

    def _loaded(self, size: int) -> Reg:
        return unknown(self.pc) if size == 8 else ranged(0, (1 << (8 * size)) - 1, self.pc)

    def _frame_of(self, st: State, base: Reg) -> Frame:
        return st.frames[base.frame]

    def _path_add(self, st: State, pc: int, taken: bool) -> State:
        st.path = (pc if taken else ~pc, st.path)  # type: ignore[assignment]
        return st


@functools.cache
def possible_cpus() -> int:
    """nr_cpu_ids: how many CPU numbers this machine may use."""
    try:
        with open("/sys/devices/system/cpu/possible") as fh:
            text = fh.read().strip()
        return int(text.split(",")[-1].split("-")[-1]) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


def spin_lock_off(m: MapSpec) -> int | None:
    off = getattr(m.value_type, "spin_lock_off", None)
    return off if isinstance(off, int) else None


# Pointer kinds whose bounds the walk proves against the same sizes the vm uses (stack
# frame, map value, ring buffer record, packet up to data_end); context fields are
# checked against the kernel's layout and BTF pointers are only "readable", so neither
# lets the interpreter drop its own check.
IN_BOUNDS_KINDS = (1 << T.STACK | 1 << T.MAP_VALUE | 1 << T.MEM | 1 << T.PACKET
                   | 1 << T.PACKET_META)


def is_zero(r: Reg) -> bool:
    return r.t == T.SCALAR and r.is_const and r.const == 0
