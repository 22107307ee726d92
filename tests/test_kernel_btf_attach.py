"""Tracing programs get their vmlinux BTF attach id from their spec, as libbpf does."""

from __future__ import annotations

import os

import pytest

from pybpf.asm import Insn
from pybpf.kernel.programs import load_program
from pybpf.spec import ProgramSpec
from pybpf.uapi import AttachType, ProgType


@pytest.mark.kernel
def test_tp_btf_program_loads_and_attaches_without_an_explicit_btf_id() -> None:
    from pybpf.kernel.links import attach

    spec = ProgramSpec("on_exec", ProgType.TRACING, [Insn(0xB7), Insn(0x95)],
                       attach_type=AttachType.TRACE_RAW_TP, attach_to="sched_process_exec")
    prog = load_program(spec)
    try:
        link = attach(prog)
        link.close()
    finally:
        prog.close()


def test_unknown_btf_target_is_one_clear_line() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs vmlinux BTF read access")
    from pybpf.errors import PybpfError

    spec = ProgramSpec("x", ProgType.TRACING, [Insn(0xB7), Insn(0x95)],
                       attach_type=AttachType.TRACE_RAW_TP, attach_to="no_such_tracepoint_x")
    with pytest.raises(PybpfError, match="trace_raw_tp target 'no_such_tracepoint_x': the kernel "
                                         "has no typedef 'btf_trace_no_such_tracepoint_x'"):
        load_program(spec)
