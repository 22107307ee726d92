"""Robustness: whatever a program does, the vm answers r0 or a one-line PybpfError,
never a Python exception and never an access outside its regions."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vm_build import exit_, ld64, ldx, stx
from vm_build import st as store

from pybpf.asm.insn import Insn, check_insn
from pybpf.errors import PybpfError
from pybpf.spec import ProgramSpec
from pybpf.uapi import HELPER_IDS, ProgType
from pybpf.vm import VmProgram

U64 = 2**64 - 1
BASES = [0, 0x200000000, 0x400000000, 0x600000000, 0x600000200, 0x5FFFFFFF8, 1 << 63, U64,
         0x300000010, 0x100000004]


@settings(max_examples=200, deadline=None)
@given(base=st.sampled_from(BASES), delta=st.integers(-600, 600),
       size=st.sampled_from([1, 2, 4, 8]), write=st.booleans())
def test_any_address_is_a_value_or_a_vm_error(base: int, delta: int, size: int,
                                              write: bool) -> None:
    addr = (base + delta) & U64
    access = stx(size, 1, 2, 0) if write else ldx(size, 0, 1, 0)
    prog = VmProgram(ProgramSpec("f", ProgType.UNSPEC, [*ld64(1, addr), *ld64(2, 7), access,
                                                        exit_()]))
    mem = bytearray(16)
    try:
        prog.run(mem)
    except PybpfError as e:
        assert str(e).startswith("insn 4: ") and "\n" not in str(e)
        return
    region, off = addr >> 32, addr & 0xFFFFFFFF
    assert (region == 2 and off + size <= 16) or (region == 6 and off + size <= 512)


OPCODES = sorted({op for op in range(256) if check_insn(Insn(op, 0, 0, 0, 0)) is None}
                 | {0x85, 0x18})
HELPERS = [HELPER_IDS[n] for n in ("map_lookup_elem", "trace_printk", "probe_read",
                                   "probe_read_str", "get_current_comm", "strncmp", "snprintf",
                                   "loop", "ringbuf_output", "ktime_get_ns", "tail_call")]


@st.composite
def insn(draw: st.DrawFn) -> list[Insn]:
    op = draw(st.sampled_from(OPCODES))
    if op == 0x18:
        value = draw(st.sampled_from(BASES)) + draw(st.integers(-8, 8))
        return ld64(draw(st.integers(0, 9)), value & U64)
    if op == 0x85:
        return [Insn(0x85, 0, 0, 0, draw(st.sampled_from(HELPERS)))]
    ins = Insn(op, draw(st.integers(0, 10)), draw(st.integers(0, 10)),
               draw(st.integers(-4, 4)) if draw(st.booleans()) else draw(st.integers(-600, 600)),
               draw(st.sampled_from([0, 1, 8, 16, 32, 64, -1, 0x7FFFFFFF, -600])))
    return [ins] if check_insn(ins) is None else [store(8, 10, -8, 1)]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.lists(insn(), min_size=1, max_size=20), mem=st.binary(max_size=32))
def test_random_programs_never_raise_python_errors(body: list[list[Insn]], mem: bytes) -> None:
    insns = [i for part in body for i in part] + [exit_()]
    try:
        prog = VmProgram(ProgramSpec("fuzz", ProgType.UNSPEC, insns), budget=2000)
        r0 = prog.run(bytearray(mem))
    except PybpfError as e:
        assert "\n" not in str(e)
        return
    assert 0 <= r0 <= U64
