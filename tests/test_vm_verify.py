"""The vm backend runs only what the static verifier accepts (unless told not to)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.asm import assemble_program
from pybpf.cli.main import main
from pybpf.spec import CollectionSpec, MapSpec
from pybpf.uapi import MapType, ProgType
from pybpf.verifier import VerifierRejected

UNCHECKED_LOOKUP = """
    *(u32 *)(r10 - 4) = 0
    r2 = r10
    r2 += -4
    r1 = map_fd(m) ll
    call bpf_map_lookup_elem
    r0 = *(u64 *)(r0 + 0)
    exit
"""


def _spec(src: str) -> CollectionSpec:
    prog = assemble_program(src, "t.s").to_spec("p", ProgType.XDP)
    return CollectionSpec(programs={"p": prog}, maps={"m": MapSpec("m", MapType.HASH, 4, 8, 4)})


def test_vm_load_refuses_what_the_verifier_rejects() -> None:
    msg = r"t.s:7:5: verifier rejected insn 6 .*r0 may be null here"
    with pytest.raises(VerifierRejected, match=msg):
        _spec(UNCHECKED_LOOKUP).load("vm")


def test_vm_load_without_verify_fails_at_run_time_instead() -> None:
    from pybpf.vm import VmError

    with _spec(UNCHECKED_LOOKUP).load("vm", verify=False) as coll, \
            pytest.raises(VmError, match="insn 6: read of 8 bytes at 0x0: null pointer"):
        coll.programs["p"].test_run(b"\0" * 64)


def test_run_verifies_typed_programs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "ctx.s"
    src.write_text("r0 = *(u8 *)(r1 + 2)\nexit\n")
    assert main(["run", "--type", "xdp", str(src)]) == 1
    err = capsys.readouterr().err
    assert f"{src}:1:1: verifier rejected insn 0" in err
    assert err.count("\n") == 1
    assert main(["run", "--type", "xdp", "--no-verify", str(src)]) == 0
