"""check() and safe_accesses(): the verifier as a runtime's gate, and what it proves."""

from __future__ import annotations

import pytest

from pybpf.asm.assembler import assemble_program
from pybpf.errors import PybpfError
from pybpf.spec import MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType
from pybpf.verifier import VerifierRejected, check, safe_accesses

ARR = MapSpec("vals", MapType.ARRAY, 4, 16, 4)

# insn: 0 ctx load, 1 ctx load, 2-3 stack store/load, 4 r2 = fp, 5, 6-7 lddw, 8 call,
# 9 null check, 10 map value store, 11 r4 = pkt, 12, 13 data_end check, 14 packet load
PROG = """
r6 = *(u32 *)(r1 + 0)
r7 = *(u32 *)(r1 + 4)
*(u32 *)(r10 - 4) = 1
r3 = *(u32 *)(r10 - 4)
r2 = r10
r2 += -4
r1 = map_fd(vals)
call bpf_map_lookup_elem
if r0 == 0 goto +1
*(u64 *)(r0 + 8) = r7
r4 = r6
r4 += 2
if r4 > r7 goto +1
r0 = *(u16 *)(r6 + 0)
r0 = 2
exit
"""


def _spec(text: str) -> ProgramSpec:
    a = assemble_program(text, "prog.s")
    return ProgramSpec("p", ProgType.XDP, a.insns, map_refs=a.map_refs,
                       source_map=a.source_map)


def test_check_accepts_a_safe_program() -> None:
    check(_spec(PROG), maps={"vals": ARR})  # raises when rejected


def test_check_raises_one_line_pybpf_error_with_index_disassembly_and_reason() -> None:
    bad = PROG.replace("r4 += 2", "r4 += 1")  # proves 1 byte, reads 2
    with pytest.raises(VerifierRejected) as ei:
        check(_spec(bad), maps={"vals": ARR})
    e = ei.value
    assert isinstance(e, PybpfError)
    msg = str(e)
    assert "\n" not in msg
    assert e.index == 14
    assert "insn 14 (r0 = *(u16 *)(r6 +0))" in msg
    assert "outside the 1 bytes proven in bounds" in msg
    assert msg.startswith("prog.s:15:1: ")  # the source line of insn 14 (lddw is 2 slots)
    assert e.verdict.errors[0].regs["r6"].startswith("pkt(")


def test_check_accepts_raw_instructions_and_type_names() -> None:
    insns = _spec("r0 = *(u32 *)(r10 - 8)\nexit").insns
    with pytest.raises(VerifierRejected, match="insn 0"):
        check(insns, "socket")
    check(insns, "socket", strict_stack=False)  # options pass through to verify


def test_safe_accesses_are_the_stack_map_and_packet_accesses_not_ctx() -> None:
    safe = safe_accesses(_spec(PROG), maps={"vals": ARR})
    assert safe == {2, 3, 10, 14}


def test_safe_accesses_is_every_load_and_store_but_the_context_ones() -> None:
    spec = _spec(PROG)
    safe = safe_accesses(spec, maps={"vals": ARR})
    loads_stores = {i for i, ins in enumerate(spec.insns) if ins.opcode & 7 in (1, 2, 3)}
    assert loads_stores == {0, 1, 2, 3, 10, 14}
    assert safe == loads_stores - {0, 1}


def test_safe_accesses_excludes_an_access_reached_through_ctx_on_some_path() -> None:
    # insn 6 reads through r2: the stack on one path, the context on the other
    text = """
r2 = r10
r2 += -8
*(u64 *)(r10 - 8) = 0
r3 = *(u32 *)(r1 + 0)
if r3 == 0 goto +1
r2 = r1
r0 = *(u32 *)(r2 + 0)
exit
"""
    assert safe_accesses(_spec(text)) == {2}


def test_safe_accesses_empty_for_nothing_proven() -> None:
    assert safe_accesses(_spec("r0 = 0\nexit")) == frozenset()


def test_ops_mirror_the_opcode_enums() -> None:
    from pybpf.asm import opcodes
    from pybpf.verifier import ops

    for name in ("Class", "Alu", "Jmp", "Mode", "AtomicOp", "PseudoSrc", "CallSrc"):
        enum, plain = getattr(opcodes, name), getattr(ops, name)
        assert {m.name: int(m) for m in enum} == {
            k: v for k, v in vars(plain).items() if not k.startswith("_")}


def test_a_helper_reads_only_its_declared_arguments() -> None:
    from pybpf.asm.insn import Insn
    from pybpf.uapi import HELPER_IDS
    from pybpf.verifier.cfg import uses_defs

    lookup = Insn(0x85, imm=HELPER_IDS["map_lookup_elem"])
    assert uses_defs(lookup) == (0b110, 0b111111)
    local_call = Insn(0x85, src=1, imm=3)
    assert uses_defs(local_call) == (0b111110, 0b111111)


def test_paths_differing_only_in_registers_a_helper_ignores_are_pruned() -> None:
    from pybpf.verifier import verify

    text = """
r6 = r1
r4 = 0
r3 = *(u32 *)(r6 + 12)
if r3 == 0 goto +1
r4 = r10
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map_fd(vals)
call bpf_map_lookup_elem
r0 = 0
exit
"""
    v = verify(_spec(text), maps={"vals": ARR})
    assert v.accepted
    # the fall-through path walks 12 instructions; the jump joins it at insn 5 with r4
    # a number instead of a pointer, but r4 is dead there (lookup reads r1, r2 only)
    assert v.stats["insns_processed"] == 12
