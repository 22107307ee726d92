"""The same CollectionSpec through the kernel (BPF_PROG_TEST_RUN) and the vm must agree:
return value, packet out, and the maps' contents afterwards."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from pybpf.asm.insn import Insn, lddw
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import CollectionSpec, MapRef, MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType

pytestmark = pytest.mark.kernel

EXIT = Insn(0x95)
PKT = bytes(range(14)) + bytes((i * 7) & 0xFF for i in range(50))


def mov(dst: int, imm: int) -> Insn:
    return Insn(0xB7, dst, 0, 0, imm)


def _alu_mix() -> list[Insn]:
    """Pure arithmetic over 32 and 64-bit registers; r0 folds every result."""
    return [
        *lddw(1, 0x8000_0000_DEAD_BEEF), mov(2, -7), Insn(0xB4, 3, 0, 0, 0x7FFFFFFF),
        Insn(0xBF, 0, 1, 0, 0), Insn(0x0F, 0, 2, 0, 0), Insn(0x04, 3, 0, 0, 5),  # overflow w3
        Insn(0x2F, 0, 2, 0, 0), Insn(0x37, 0, 0, 0, 3), Insn(0xC7, 1, 0, 0, 7),
        Insn(0xAF, 0, 1, 0, 0), Insn(0x9F, 0, 3, 0, 0), Insn(0x67, 0, 0, 0, 9),
        Insn(0xDC, 0, 0, 0, 32), Insn(0x87, 2, 0, 0, 0), Insn(0x3C, 3, 2, 0, 0),
        Insn(0x0F, 0, 3, 0, 0), Insn(0x77, 0, 0, 0, 3),
        Insn(0xAD, 0, 1, 1, 0), Insn(0x07, 0, 0, 0, 1000),  # if r0 < r1 skip the add
        EXIT,
    ]


def _counter(name: str) -> tuple[list[Insn], list[MapRef]]:
    a, b = lddw(1, 0, PseudoSrc.MAP_FD)
    insns = [
        ldxw(6, 1, 0), ldxw(7, 1, 4), Insn(0x1F, 7, 6, 0, 0),  # r7 = packet length
        mov(0, 0), Insn(0x63, 10, 0, -4, 0), Insn(0xBF, 2, 10, 0, 0), Insn(0x07, 2, 0, 0, -4),
        a, b, Insn(0x85, 0, 0, 0, 1), Insn(0x15, 0, 0, 1, 0),
        Insn(0xDB, 0, 7, 0, 0),  # lock *(u64 *)r0 += r7
        mov(0, 2), EXIT,
    ]
    return insns, [MapRef(7, name)]


def ldxw(dst: int, src: int, off: int) -> Insn:
    return Insn(0x61, dst, src, off, 0)


def _write_pkt() -> list[Insn]:
    return [
        ldxw(2, 1, 0), ldxw(3, 1, 4), mov(0, 1),
        Insn(0xBF, 4, 2, 0, 0), Insn(0x07, 4, 0, 0, 20), Insn(0x2D, 4, 3, 4, 0),
        Insn(0x71, 5, 2, 13, 0), Insn(0x73, 2, 5, 0, 0),  # data[0] = data[13]
        Insn(0x6A, 2, 0, 16, 0x1234),  # *(u16 *)(data + 16) = 0x1234
        mov(0, 3),
        EXIT,
    ]


CASES: dict[str, tuple[ProgType, Callable[[], list[Insn]], dict[str, int]]] = {
    "alu_mix": (ProgType.SOCKET_FILTER, _alu_mix, {}),
    "skb_len": (ProgType.SOCKET_FILTER, lambda: [ldxw(0, 1, 0), EXIT], {}),
    "xdp_write": (ProgType.XDP, _write_pkt, {}),
}


def _both(spec: CollectionSpec):  # type: ignore[no-untyped-def]
    return spec.load(backend="kernel"), spec.load(backend="vm")


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_and_vm_agree(case: str) -> None:
    ptype, build, _ = CASES[case]
    spec = CollectionSpec(programs={"p": ProgramSpec(case, ptype, build())})
    k, v = _both(spec)
    try:
        for data in (PKT, PKT * 2):
            rk, rv = k.programs["p"].test_run(data), v.programs["p"].test_run(data)
            assert rk.retval == rv.retval
            if ptype == ProgType.XDP:
                assert rk.data_out == rv.data_out
    finally:
        k.close()
        v.close()


def test_kernel_and_vm_agree_on_map_updates() -> None:
    insns, refs = _counter("bytes")
    spec = CollectionSpec(
        maps={"bytes": MapSpec("bytes", MapType.ARRAY, 4, 8, 1,
                               contents=[(b"\0\0\0\0", struct.pack("<Q", 5))])},
        programs={"p": ProgramSpec("count_bytes", ProgType.XDP, insns, map_refs=refs)},
    )
    k, v = _both(spec)
    try:
        for coll in (k, v):
            assert coll.programs["p"].test_run(PKT, repeat=3).retval == 2
            assert coll.programs["p"].test_run(PKT * 2).retval == 2
        km, vm = k.maps["bytes"].typed("u32", "u64"), v.maps["bytes"].typed("u32", "u64")
        assert km[0] == vm[0] == 5 + 3 * len(PKT) + 2 * len(PKT)
    finally:
        k.close()
        v.close()
