"""BPF-to-BPF calls, callx, bpf_loop, tail calls, the instruction budget, load errors."""

from __future__ import annotations

import re

import pytest
from vm_build import (
    alu,
    call,
    call_local,
    callx,
    exit_,
    jmp,
    ld64,
    ldx,
    mov,
    movr,
    run,
    spec,
    st,
    stx,
)

from pybpf.asm.insn import Insn
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import MapRef, MapSpec, ProgramSpec
from pybpf.uapi import HELPER_IDS, MapType, ProgType
from pybpf.vm import VmError, VmProgram


def test_local_call_preserves_r6_to_r9_and_passes_r1_to_r5() -> None:
    body = [mov(6, 7), mov(9, 3), mov(1, 5), mov(5, 1),
            call_local(3),                        # 4 -> 8
            alu("add", 0, src=6), alu("add", 0, src=9),
            exit_(),                              # 7
            mov(6, 100), mov(9, 100),             # 8, 9: callee clobbers r6, r9
            movr(0, 1), alu("mul", 0, 2), alu("add", 0, src=5),
            exit_()]
    assert run(*body) == 11 + 7 + 3


def test_each_call_gets_its_own_stack_frame() -> None:
    body = [st(8, 10, -8, 0x11), call_local(2),
            ldx(8, 0, 10, -8), exit_(),           # 2, 3
            st(8, 10, -8, 0x22), movr(0, 10), exit_()]
    assert run(*body) == 0x11
    # the callee's r10 is another region than the caller's
    body2 = [call_local(1), exit_(), movr(0, 10), exit_()]
    assert run(*body2) == 0x800000200


def _recursive(depth: int) -> list:  # type: ignore[type-arg]
    # f(n) = n == 0 ? 0 : f(n - 1) + 1
    return [mov(1, depth), call_local(1), exit_(),
            mov(0, 0), jmp("jeq", 1, 4, imm=0),   # 3, 4 -> 9
            movr(6, 1), alu("sub", 1, 1), call_local(-5),  # 5, 6, 7 -> 3
            alu("add", 0, 1),                    # 8
            exit_()]                             # 9


def test_call_depth_limit_is_eight_frames() -> None:
    assert run(*_recursive(6)) == 6  # main + 7 nested frames
    with pytest.raises(VmError, match=r"^insn 7: call depth exceeds the limit of 8 frames$"):
        run(*_recursive(7))


def test_callx_through_a_function_address() -> None:
    # lddw r8, func at 0 + 4 + 1 = 5
    body = [Insn(0x18, 8, PseudoSrc.FUNC, 0, 4), Insn(0), mov(1, 20), callx(8), exit_(),
            movr(0, 1), alu("add", 0, 1), exit_()]
    assert run(*body) == 21


def test_callx_to_a_non_function_is_an_error() -> None:
    with pytest.raises(VmError, match=r"^insn 1: 0x5 is not the address of a function$"):
        run(mov(8, 5), callx(8), exit_())


LOOP = HELPER_IDS["loop"]


def _loop_prog(n: int, stop_at: int | None) -> list:  # type: ignore[type-arg]
    cb_body = [ldx(8, 3, 2, 0), alu("add", 3, src=1), stx(8, 2, 3, 0), mov(0, 0)]
    if stop_at is not None:
        cb_body += [jmp("jne", 1, 1, imm=stop_at), mov(0, 1)]
    cb_body.append(exit_())
    main = [st(8, 10, -8, 0), mov(1, n), None, None, movr(3, 10), alu("add", 3, -8),
            mov(4, 0), call(LOOP), ldx(8, 1, 10, -8), alu("lsh", 0, 32), alu("or", 0, src=1),
            exit_()]
    cb_start = len(main)
    main[2], main[3] = Insn(0x18, 2, PseudoSrc.FUNC, 0, cb_start - 2 - 1), Insn(0)
    return main + cb_body


def test_bpf_loop_runs_the_callback_with_index_and_ctx() -> None:
    r0 = run(*_loop_prog(5, None))
    assert (r0 >> 32, r0 & 0xFFFFFFFF) == (5, 0 + 1 + 2 + 3 + 4)


def test_bpf_loop_stops_when_the_callback_returns_1() -> None:
    r0 = run(*_loop_prog(10, 2))
    assert (r0 >> 32, r0 & 0xFFFFFFFF) == (3, 0 + 1 + 2)


def test_bpf_loop_rejects_flags_and_huge_counts() -> None:
    body = [mov(1, 1), ld64(2, 0), mov(3, 0), mov(4, 1), call(LOOP), exit_()]
    assert run(*body) == (-22) & (2**64 - 1)
    body = [ld64(1, (1 << 23) + 1), ld64(2, 0), mov(3, 0), mov(4, 0), call(LOOP), exit_()]
    assert run(*body) == (-7) & (2**64 - 1)


def test_bpf_loop_callbacks_count_against_the_budget() -> None:
    with pytest.raises(VmError, match=r"instruction budget of 200 exhausted"):
        run(*_loop_prog(100, None), budget=200)


# -- tail calls --------------------------------------------------------------

def _maps():  # type: ignore[no-untyped-def]
    from pybpf.vm.maps import create_map

    progs = create_map(MapSpec("jmp", MapType.PROG_ARRAY, 4, 4, 4))
    counts = create_map(MapSpec("counts", MapType.ARRAY, 4, 8, 1))
    return {"jmp": progs, "counts": counts}


TAIL = HELPER_IDS["tail_call"]


def _tail_caller(value_after: int) -> ProgramSpec:
    body = [ld64(2, 0, PseudoSrc.MAP_FD), mov(3, 0), call(TAIL), mov(0, value_after), exit_()]
    return spec(*body, map_refs=[MapRef(0, "jmp")])


def test_tail_call_replaces_the_program() -> None:
    maps = _maps()
    caller = VmProgram(_tail_caller(99), maps)
    assert caller.run(b"") == 99  # empty slot: falls through
    target = VmProgram(spec(ldx(1, 0, 1, 0), alu("add", 0, 40), exit_()), maps)
    maps["jmp"].set_program(0, target)
    assert caller.run(b"\x02") == 42  # the target sees the same context


def test_tail_calls_stop_after_33() -> None:
    maps = _maps()
    body = [movr(6, 1), st(4, 10, -4, 0), ld64(1, 0, PseudoSrc.MAP_FD), movr(2, 10),
            alu("add", 2, -4), call(HELPER_IDS["map_lookup_elem"]),
            jmp("jeq", 0, 7, imm=0), mov(1, 1), stx(8, 10, 1, -16), movr(3, 10),
            alu("add", 3, -16), ldx(8, 1, 0, 0), alu("add", 1, 1), stx(8, 0, 1, 0),
            movr(1, 6), ld64(2, 0, PseudoSrc.MAP_FD), mov(3, 0), call(TAIL),
            mov(0, 7), exit_()]
    # lddw at 2 -> counts, lddw at 17 -> jmp
    refs = [MapRef(2, "counts"), MapRef(17, "jmp")]
    prog = VmProgram(spec(*body, map_refs=refs), maps)
    maps["jmp"].set_program(0, prog)
    assert prog.run(b"") == 7
    assert maps["counts"].lookup_raw(b"\0\0\0\0") == (34).to_bytes(8, "little")


# -- budget --------------------------------------------------------------------

def test_budget_is_exact_for_straight_code() -> None:
    body = [mov(0, 1), mov(0, 2), mov(0, 3), mov(0, 4), exit_()]
    assert run(*body, budget=5) == 4
    with pytest.raises(VmError, match=r"^insn 4: instruction budget of 4 exhausted"):
        run(*body, budget=4)


def test_budget_is_exact_for_loops() -> None:
    # 2 + 10 * 3 + 1 = 33 executed instructions
    body = [mov(0, 0), mov(1, 10), alu("add", 0, 2), alu("sub", 1, 1),
            jmp("jne", 1, -3, imm=0), exit_()]
    assert run(*body, budget=33) == 20
    with pytest.raises(VmError, match=r"instruction budget of 32 exhausted"):
        run(*body, budget=32)


def test_default_budget_is_one_million() -> None:
    body = [mov(1, 0), alu("add", 1, 1), jmp("jne", 1, -2, imm=0), exit_()]
    with pytest.raises(VmError, match=r"^insn 1: instruction budget of 1000000 exhausted"):
        run(*body)


# -- load-time errors -----------------------------------------------------------

def test_unknown_helper_is_a_load_time_error() -> None:
    with pytest.raises(VmError, match=re.escape(
            "insn 1: helper 9 (skb_store_bytes) is not available in the vm")):
        VmProgram(spec(mov(0, 0), call(9), exit_()))
    with pytest.raises(VmError, match=re.escape("insn 0: helper 99999 (unknown)")):
        VmProgram(spec(call(99999), exit_()))


def test_falling_off_the_end_and_bad_jumps() -> None:
    with pytest.raises(VmError, match=r"^insn 0: execution falls off the end"):
        run(mov(0, 1))
    with pytest.raises(VmError, match=r"^insn 0: jump or call target 5 is outside the program$"):
        VmProgram(spec(jmp("jeq", 0, 4, imm=0), exit_()))
    with pytest.raises(VmError, match=r"lddw|middle of a 64-bit immediate load"):
        VmProgram(spec(jmp("jeq", 0, 1, imm=0), ld64(0, 1), exit_()))


def test_invalid_encodings_are_rejected_with_the_index() -> None:
    from pybpf.asm.insn import Insn
    from pybpf.errors import BadInput

    with pytest.raises(BadInput, match=r"^instruction 1: "):
        VmProgram(spec(mov(0, 0), Insn(0xFF), exit_()))


def test_programs_of_every_type_take_a_raw_context() -> None:
    p = VmProgram(ProgramSpec("k", ProgType.KPROBE, [ldx(8, 0, 1, 0), exit_()]))
    assert p.run((12345).to_bytes(8, "little")) == 12345


def test_lddw_sources() -> None:
    from pybpf.vm.maps import create_map

    # src=3 (btf id) is a constant in the vm
    assert run(Insn(0x18, 0, PseudoSrc.BTF_ID, 0, 77), Insn(0), exit_()) == 77
    # src=1 without a MapRef: imm is the map's index; the handle is not memory
    m = create_map(MapSpec("a", MapType.ARRAY, 4, 8, 1))
    body = [Insn(0x18, 1, PseudoSrc.MAP_FD, 0, 0), Insn(0), ldx(8, 0, 1, 0), exit_()]
    with pytest.raises(VmError, match=r"^insn 2: read of 8 bytes at 0x3[0-9a-f]{8}: "
                                      r"that is a map handle, not memory$"):
        VmProgram(spec(*body), {"a": m}).run()
    with pytest.raises(VmError, match=r"^insn 0: 64-bit load of map #1, but the program has "
                                      r"1 maps$"):
        VmProgram(spec(Insn(0x18, 1, PseudoSrc.MAP_IDX, 0, 1), Insn(0), exit_()), {"a": m})
    with pytest.raises(VmError, match=r"^insn 0: instruction refers to map 'zz'"):
        VmProgram(spec(*ld64(1, 0, PseudoSrc.MAP_FD), exit_(), map_refs=[MapRef(0, "zz")]))


def test_self_tail_call_keeps_the_context() -> None:
    maps = _maps()
    # r0 = ctx[0] + tail calls so far (counted in ctx[1]); stop when ctx[1] == 3
    body = [movr(6, 1), ldx(1, 2, 6, 1), jmp("jeq", 2, 7, imm=3),     # 0..2 -> 10
            alu("add", 2, 1), stx(1, 6, 2, 1),                          # 3, 4
            movr(1, 6), ld64(2, 0, PseudoSrc.MAP_FD), mov(3, 0),        # 5..8
            call(TAIL),                                                 # 9
            ldx(1, 0, 6, 0), alu("add", 0, src=2), exit_()]             # 10..12
    prog = VmProgram(spec(*body, map_refs=[MapRef(6, "jmp")]), maps)
    maps["jmp"].set_program(0, prog)
    ctx = bytearray(b"\x28\x00")
    assert prog.run(ctx) == 0x28 + 3
    assert ctx[1] == 3
