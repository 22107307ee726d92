"""verify() on its different inputs, the rejection report, options, and ``pybpf verify``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.asm.assembler import assemble, assemble_program
from pybpf.asm.insn import encode
from pybpf.cli.main import main
from pybpf.spec import MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType
from pybpf.verifier import verify

HASH = MapSpec("counts", MapType.HASH, 4, 8, 16)
NULL_DEREF = """
r6 = *(u32 *)(r1 + 12)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_fd(counts)
call bpf_map_lookup_elem
if r6 == 0 goto +1
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
"""


def _spec(text: str, ptype: ProgType = ProgType.XDP) -> ProgramSpec:
    a = assemble_program(text, "prog.s")
    return ProgramSpec("p", ptype, a.insns, map_refs=a.map_refs, source_map=a.source_map)


def test_report_names_place_reason_registers_path_and_source() -> None:
    v = verify(_spec(NULL_DEREF), maps={"counts": HASH})
    assert not v.accepted and not v
    (e,) = v.errors
    assert e.index == 9
    assert e.insn_text == "r0 = *(u64 *)(r0 +0)"
    assert e.reason.startswith("r0 may be null here: check the result of "
                               "bpf_map_lookup_elem at insn 7 against 0")
    assert e.regs["r0"] == "map_value_or_null(id=1)"
    assert e.regs["r10"] == "fp0"
    assert "r1" not in e.regs  # clobbered by the call
    assert e.path == ["0", "8 (fall through)", "9"]
    assert e.source is not None and (e.source.file, e.source.line) == ("prog.s", 10)
    text = str(v)
    assert "insn 9: r0 = *(u64 *)(r0 +0)" in text and "path: 0 -> 8 (fall through) -> 9" in text
    assert e.one_line().startswith("prog.s:10")


def test_raw_instructions_and_bytes_with_maps_by_index() -> None:
    insns = assemble("r1 = map[id:0]\nr2 = r10\nr2 += -8\nr3 = 0\n*(u64 *)(r10 - 8) = r3\n"
                     "call bpf_map_lookup_elem\nr0 = 0\nexit")
    assert verify(insns, "xdp", [MapSpec("m", MapType.HASH, 8, 8, 4)]).accepted
    assert verify(encode(insns), ProgType.XDP, [MapSpec("m", MapType.HASH, 8, 8, 4)]).accepted
    v = verify(insns, "xdp", [])
    assert "only 0 maps were given" in v.errors[0].reason
    v = verify(insns, "xdp", [MapSpec("m", MapType.HASH, 16, 8, 4)])
    assert "fp-8 (16 bytes) is outside the 512-byte stack frame" in v.errors[0].reason
    v = verify(insns[:5] + insns[6:], "xdp", [MapSpec("m", MapType.HASH, 8, 8, 4)])
    assert "fp-8" in v.errors[0].reason and "uninitialized" in v.errors[0].reason


def test_collection_spec_brings_its_maps() -> None:
    from pybpf.spec import CollectionSpec

    coll = CollectionSpec({"p": _spec(NULL_DEREF.replace("r6 == 0", "r0 == 0"))},
                          {"counts": HASH})
    assert verify(coll).accepted
    coll.programs["q"] = _spec("r0 = 0\nexit")
    from pybpf.errors import BadInput

    with pytest.raises(BadInput, match="2 programs"):
        verify(coll)


def test_decode_errors_are_rejections_at_their_index() -> None:
    v = verify(b"\xb7\x00\x00\x00\x00\x00\x00\x00" + b"\xff" * 8, "xdp")
    assert not v.accepted and v.errors[0].index == 1
    v = verify([], "xdp")
    assert "empty" in v.errors[0].reason


def test_unprivileged_forbids_loops_and_leaks() -> None:
    loop = "r1 = 0\nl:\nr1 += 1\nif r1 < 4 goto l\nr0 = 0\nexit"
    assert verify(assemble(loop), "socket").accepted
    v = verify(assemble(loop), "socket", privileged=False)
    assert "back to insn 1 makes a loop" in v.errors[0].reason
    leak = "r0 = r10\nexit"
    assert verify(assemble(leak), "socket").accepted
    assert "would leak it" in verify(assemble(leak), "socket", privileged=False).errors[0].reason


def test_complexity_budget_and_stats() -> None:
    loop = "r1 = 0\nl:\nr1 += 1\nif r1 < 5000 goto l\nr0 = 0\nexit"
    v = verify(assemble(loop), "socket", max_insns=2000)
    assert "too complex" in v.errors[0].reason
    v = verify(assemble(loop), "socket")
    assert v.accepted and v.stats["insns_processed"] == 2 + 2 * 5000 + 1


def test_uninitialized_stack_reads_follow_the_option() -> None:
    insns = assemble("r0 = *(u64 *)(r10 - 8)\nexit")
    assert not verify(insns, "xdp").accepted
    assert verify(insns, "xdp", strict_stack=False).accepted


def test_state_pruning_keeps_branchy_programs_linear() -> None:
    # 30 independent diamonds: 2**30 paths without pruning
    body = "".join(f"if r1 > {i} goto +1\nr2 = {i}\n" for i in range(30))
    v = verify(assemble("r1 = 5\nr3 = r1\nr1 = r10\n" + body.replace("r1 >", "r3 >")
                        + "r0 = 0\nexit"), "socket")
    assert v.accepted and v.stats["insns_processed"] < 2000


def test_stack_depth_is_reported() -> None:
    v = verify(assemble("r1 = 0\n*(u64 *)(r10 - 40) = r1\nr0 = 0\nexit"), "xdp")
    assert v.stats["stack_depth"] == 40


def test_unknown_program_type_is_bad_input() -> None:
    from pybpf.errors import BadInput

    with pytest.raises(BadInput, match="unknown program type"):
        verify(assemble("r0 = 0\nexit"), "nosuch")


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = _write(tmp_path, "ok.s", "; type: xdp\nr0 = 2\nexit\n")
    assert main(["verify", ok]) == 0
    assert "accepted" in capsys.readouterr().out
    bad = _write(tmp_path, "bad.s", "; type: xdp\n; map: counts hash 4 8 16\n" + NULL_DEREF)
    assert main(["verify", bad, "--log"]) == 1
    out = capsys.readouterr().out
    assert "rejected" in out and "insn 9: r0 = *(u64 *)(r0 +0)" in out
    assert "may be null here" in out and "verification time" in out
    assert "8: if r6 == 0x0 goto pc+1" in out and "r6=scalar(" in out  # the --log trace
    garbage = _write(tmp_path, "garbage.s", "r0 = = 1\n")
    assert main(["verify", garbage]) == 2
    assert "garbage.s:1" in capsys.readouterr().err
    raw = tmp_path / "p.bin"
    raw.write_bytes(encode(assemble("r0 = *(u32 *)(r1 + 76)\nexit")))
    assert main(["verify", str(raw), "--type", "tc"]) == 0
    assert main(["verify", str(raw), "--type", "socket"]) == 1
    assert main(["verify", str(raw), "--type", "bogus"]) == 2
    capsys.readouterr()


def _objects() -> dict[str, str]:
    from bpf.build import build, missing

    if missing() is not None:
        pytest.skip(f"objects: {missing()}")
    return {n: build(n) for n in ("trace", "xdp", "uprobe", "opensnoop", "core_bad")}


def test_clang_objects_verify_and_map_back_to_c(capsys: pytest.CaptureFixture[str]) -> None:
    objs = _objects()
    from pybpf.elf import load_collection_spec

    for name in ("trace", "xdp", "uprobe", "opensnoop"):
        obj = load_collection_spec(objs[name])
        for ps in obj.programs.values():
            v = verify(ps, maps=obj.maps)
            assert v.accepted, f"{name}/{ps.section}: {v.errors[0]}"
    assert main(["verify", objs["opensnoop"], "--section",
                 "tracepoint/syscalls/sys_exit_openat"]) == 0
    assert main(["verify", objs["opensnoop"]]) == 2  # four programs: which one?
    assert "pick one with --section" in capsys.readouterr().err
    assert main(["verify", objs["core_bad"]]) == 1
    out = capsys.readouterr().out
    assert "poisoned by a CO-RE relocation" in out and "core_bad.bpf.c:19" in out


@pytest.mark.kernel
def test_clang_objects_agree_with_kernel() -> None:
    objs = _objects()
    from pybpf.elf import load_collection_spec
    from pybpf.verifier.oracle import kernel_verify_spec

    for name in ("trace", "xdp", "uprobe", "opensnoop", "core_bad"):
        obj = load_collection_spec(objs[name])
        for ps in obj.programs.values():
            ours = verify(ps, maps=obj.maps).accepted
            k = kernel_verify_spec(ps, obj.maps)
            assert ours == k.accepted, f"{name}/{ps.section}: kernel says {k.message!r}"
