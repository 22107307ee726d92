"""for_each_map_elem, get_stackid/get_stack and the stack trace map in the vm."""

from __future__ import annotations

import struct

from pybpf.asm import assemble_program
from pybpf.spec import CollectionSpec, MapSpec
from pybpf.uapi import MapType, ProgType
from pybpf.vm.maps import create_map
from pybpf.vm.program import VmProgram

SUM_VALUES = """
    r1 = map_fd(h) ll
    r2 = code_addr(cb)
    r3 = r10
    r3 += -8
    *(u64 *)(r10 - 8) = 0
    r4 = 0
    call bpf_for_each_map_elem
    r6 = r0                       # elements visited
    r0 = *(u64 *)(r10 - 8)        # sum of values
    r0 <<= 8
    r0 |= r6
    exit
cb:                               # (map, &key, &value, ctx)
    r0 = *(u64 *)(r4 + 0)
    r5 = *(u64 *)(r3 + 0)
    r0 += r5
    *(u64 *)(r4 + 0) = r0
    r0 = 0
    exit
"""


def _prog(src: str, maps: dict) -> VmProgram:
    a = assemble_program(src, "t.s")
    return VmProgram(a.to_spec("p", ProgType.XDP), maps=maps)


def test_for_each_map_elem_visits_every_element() -> None:
    h = create_map(MapSpec("h", MapType.HASH, 4, 8, 16))
    for k, v in [(1, 10), (2, 20), (3, 30)]:
        h.update(k, v.to_bytes(8, "little"))
    r0 = _prog(SUM_VALUES, {"h": h}).run(b"\0" * 16)
    assert r0 & 0xFF == 3
    assert r0 >> 8 == 60


def test_for_each_map_elem_stops_when_callback_returns_1() -> None:
    h = create_map(MapSpec("h", MapType.HASH, 4, 8, 16))
    for k in range(5):
        h.update(k, (k + 1).to_bytes(8, "little"))
    src = SUM_VALUES.replace("    r0 = 0\n    exit\n", "    r0 = 1\n    exit\n")
    assert _prog(src, {"h": h}).run(b"\0" * 16) & 0xFF == 1


def test_get_stackid_same_stack_same_id() -> None:
    st = create_map(MapSpec("st", MapType.STACK_TRACE, 4, 8 * 4, 64))
    src = """
        r1 = r1
        r2 = map_fd(st) ll
        r3 = 0
        call bpf_get_stackid
        exit
    """
    p = _prog(src, {"st": st})
    p.kstack = [0xFFFF1000, 0xFFFF2000, 0xFFFF3000]
    sid = p.run(b"\0" * 16)
    assert sid < 64
    assert p.run(b"\0" * 16) == sid
    assert st.lookup_raw(sid.to_bytes(4, "little")) == struct.pack(
        "<4Q", 0xFFFF1000, 0xFFFF2000, 0xFFFF3000, 0)
    p.kstack = []
    assert p.run(b"\0" * 16) == (1 << 64) - 14  # -EFAULT: no stack


def test_get_stack_copies_user_stack_with_skip() -> None:
    src = """
        r2 = r10
        r2 += -16
        r3 = 16
        r4 = 0x101          # BPF_F_USER_STACK, skip 1
        call bpf_get_stack
        r6 = r0
        r0 = *(u64 *)(r10 - 16)
        r0 += r6
        exit
    """
    p = _prog(src, {})
    p.ustack = [0x400000, 0x401000, 0x402000]
    assert p.run(b"\0" * 16) == 0x401000 + 16


def test_collection_with_stack_trace_map_loads_in_vm() -> None:
    spec = CollectionSpec(maps={"st": MapSpec("st", MapType.STACK_TRACE, 4, 8 * 127, 1024)})
    with spec.load("vm") as coll:
        assert len(coll.maps["st"]) == 0
