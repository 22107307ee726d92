"""Differential tests: the same program through the vm and the kernel must agree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vm_build import alu, exit_, jmp, ld64, ldabs, ldind, ldx, mov, movr, stx

from pybpf.asm.insn import Insn
from pybpf.spec import ProgramSpec
from pybpf.uapi import ProgType
from pybpf.vm import VmProgram

pytestmark = pytest.mark.kernel

NREGS = 6  # the random code uses r0..r5; r6/r7 hold data/data_end
OUT = 8 * NREGS


def both(insns: list[Insn], ptype: ProgType, data: bytes) -> tuple[Any, Any]:
    from pybpf.kernel.programs import load_program

    spec = ProgramSpec("diff", ptype, insns)
    vm = VmProgram(spec).test_run(data)
    kp = load_program(spec)
    try:
        k = kp.test_run(data)
    finally:
        kp.close()
    return vm, k


def xdp_wrap(body: list[Insn], init: list[int]) -> list[Insn]:
    """Bounds-check the packet, set r0..r5, run ``body``, store r0..r5 into the packet."""
    head = [ldx(4, 6, 1, 0), ldx(4, 7, 1, 4), movr(8, 6), alu("add", 8, OUT),
            jmp("jle", 8, 2, src=7), mov(0, 0), exit_()]
    for r, v in enumerate(init):
        head += ld64(r, v)
    tail = [stx(8, 6, r, 8 * r) for r in range(NREGS)] + [mov(0, 2), exit_()]
    return head + body + tail


U64 = 2**64 - 1
vals = st.one_of(st.integers(0, U64), st.sampled_from([0, 1, U64, 1 << 63, 0xFFFFFFFF, 1 << 31,
                                                        0x8000, 0x80, 7]))
imm32 = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([-1, 1, -(2**31), 0x7F]))
reg = st.integers(0, NREGS - 1)
ALU = ["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "mod", "xor", "mov", "arsh", "neg"]


@st.composite
def alu_insn(draw: st.DrawFn) -> list[Insn]:
    op = draw(st.sampled_from(ALU + ["sdiv", "smod", "movsx", "end", "bswap", "cond"]))
    w64 = draw(st.booleans())
    d, s = draw(reg), draw(reg)
    if op == "cond":
        jop = draw(st.sampled_from(["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge",
                                    "jslt", "jsle", "jset"]))
        c = jmp(jop, d, 1, src=s, w32=not w64) if draw(st.booleans()) else \
            jmp(jop, d, 1, imm=draw(imm32), w32=not w64)
        return [c, alu("add", 0, 1)]
    if op == "neg":
        return [alu("neg", d, w64=w64)]
    if op in ("sdiv", "smod"):
        base = op[1:]
        if draw(st.booleans()):
            return [alu(base, d, src=s, off=1, w64=w64)]
        return [alu(base, d, draw(imm32.filter(bool)), off=1, w64=w64)]
    if op == "movsx":
        bits = draw(st.sampled_from([8, 16, 32] if w64 else [8, 16]))
        return [alu("mov", d, src=s, off=bits, w64=w64)]
    if op == "end":
        return [Insn(0xD4 | (8 if draw(st.booleans()) else 0), d, 0, 0,
                     draw(st.sampled_from([16, 32, 64])))]
    if op == "bswap":
        return [Insn(0xD7, d, 0, 0, draw(st.sampled_from([16, 32, 64])))]
    if draw(st.booleans()):
        return [alu(op, d, src=s, w64=w64)]
    imm = draw(imm32)
    if op in ("lsh", "rsh", "arsh"):
        imm = imm % (64 if w64 else 32)
    if op in ("div", "mod") and imm == 0:
        imm = 3
    return [alu(op, d, imm, w64=w64)]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(init=st.lists(vals, min_size=NREGS, max_size=NREGS),
       body=st.lists(alu_insn(), min_size=1, max_size=12))
def test_random_alu_and_jump_code_agrees_with_the_kernel(init: list[int],
                                                         body: list[list[Insn]]) -> None:
    insns = xdp_wrap([i for part in body for i in part], init)
    vm, k = both(insns, ProgType.XDP, bytes(OUT + 8))
    assert (vm.retval, vm.data_out) == (k.retval, k.data_out)


def test_loops_stack_and_atomics_agree() -> None:
    body = [st_(8, -8, 0), mov(1, 50),
            movr(2, 1), alu("mul", 2, src=2),                     # 2,3
            stx(8, 10, 2, -16), Insn(0xDB, 10, 2, -8, 0x01),      # 4,5 fetch-add into [r10-8]
            alu("sub", 1, 1), jmp("jne", 1, -6, imm=0),            # 6,7 -> 2
            ldx(8, 0, 10, -8), alu("add", 0, src=2), exit_()]
    vm, k = both(body, ProgType.SOCKET_FILTER, bytes(64))
    # the fetch leaves the old sum in r2: total + (total - 1)
    total = sum(i * i for i in range(1, 51))
    assert vm.retval == k.retval == 2 * total - 1


def st_(size: int, off: int, imm: int) -> Insn:
    from vm_build import st

    return st(size, 10, off, imm)


@pytest.mark.parametrize("prog", [
    [ldabs(4, 2), exit_()],
    [ldabs(2, 62), exit_()],
    [mov(0, 5), ldabs(4, 62), exit_()],          # out of bounds: r0 = 0
    [mov(7, 10), ldind(1, 7, 3), exit_()],
    [mov(7, 60), ldind(4, 7, 3), mov(0, 9), exit_()],
])
def test_legacy_packet_loads_agree(prog: list[Insn]) -> None:
    data = bytes((i * 37) & 0xFF for i in range(64))
    vm, k = both([movr(6, 1), *prog], ProgType.SOCKET_FILTER, data)
    assert (vm.retval, vm.data_out) == (k.retval, k.data_out)
