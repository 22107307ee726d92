"""The Python API used the way a user would: errors are PybpfError with one clear line,
and the vm and kernel maps offer the same typed surface (regressions found by QA)."""

from __future__ import annotations

import struct

import pytest

from pybpf.asm import assemble_program
from pybpf.errors import BadInput, PybpfError
from pybpf.mapapi import EXIST, MapError, StructCodec
from pybpf.spec import CollectionSpec, MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType

BACKENDS = ["vm", pytest.param("kernel", marks=pytest.mark.kernel)]


def _maps(backend: str):  # type: ignore[no-untyped-def]
    return CollectionSpec(maps={
        "h": MapSpec("h", MapType.HASH, 4, 16, 4),
        "pc": MapSpec("pc", MapType.PERCPU_HASH, 4, 4, 4),
        "q": MapSpec("q", MapType.QUEUE, 0, 8, 2),
        "s": MapSpec("s", MapType.STACK, 0, 8, 2),
        "b": MapSpec("b", MapType.BLOOM_FILTER, 0, 8, 64),
    }).load(backend)


def test_map_error_is_a_user_error() -> None:
    assert issubclass(MapError, PybpfError)


@pytest.mark.parametrize("value, words", [
    ((1, 2), ["Rec(a, b, c)", "pack expected 3 items"]),
    (("x", 2, 3), ["Rec(a, b, c)", "not an integer"]),
    ((1 << 40, 2, 3), ["'I' format requires"]),
    ({"a": 1}, ["Rec: missing field(s) b, c (fields: a, b, c)"]),
])
def test_struct_codec_errors_name_the_fields(value: object, words: list[str]) -> None:
    """Before: struct.error / KeyError leaked from StructCodec.encode."""
    codec = StructCodec("IIQ", ["a", "b", "c"], typename="Rec")
    with pytest.raises(MapError) as e:
        codec.encode(value)
    for w in words:
        assert w in str(e.value)
    assert codec.decode(codec.encode({"a": 1, "b": 2, "c": 3})) == (1, 2, 3)


@pytest.mark.parametrize("name", ["float", "u3x", "u"])
def test_unknown_codec_name_is_a_map_error(name: str) -> None:
    """Before: ValueError from int() for 'float' and 'u3x'; 'u' silently meant the map size."""
    with CollectionSpec(maps={"h": MapSpec("h", MapType.HASH, 4, 4, 1)}).load("vm") as c:
        if name == "u":
            assert c.maps["h"].typed(key="u").key_codec.size == 4
            return
        with pytest.raises(MapError, match=f"unknown codec {name!r}"):
            c.maps["h"].typed(key=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_percpu_list_of_wrong_length_is_one_clear_error(backend: str) -> None:
    with _maps(backend) as c:
        m = c.maps["pc"].typed(key="u32", value="u32")
        n = m.ncpus
        with pytest.raises(MapError, match=f"list of {n} \\(one per CPU\\), got a list of {n + 1}"):
            m[1] = [1] * (n + 1)
        m[1] = list(range(n))
        assert m[1] == list(range(n))
        m[2] = 7  # one value for every CPU
        assert m[2] == [7] * n


@pytest.mark.parametrize("backend", BACKENDS)
def test_percpu_struct_value_given_as_a_tuple_is_one_value(backend: str) -> None:
    """Before: a tuple whose length happened to equal ncpus was split across CPUs."""
    with CollectionSpec(maps={"p": MapSpec("p", MapType.PERCPU_ARRAY, 4, 8, 1)}).load(backend) as c:
        m = c.maps["p"].typed(key="u32", value=StructCodec("II", ["x", "y"]))
        m[0] = (3, 4)
        assert [tuple(v) for v in m[0]] == [(3, 4)] * m.ncpus


@pytest.mark.parametrize("backend", BACKENDS)
def test_typed_queue_stack_bloom_agree_across_backends(backend: str) -> None:
    """Before: on the vm, q.push(1) raised TypeError and q.pop() returned raw bytes."""
    with _maps(backend) as c:
        q = c.maps["q"].typed(value="u64")
        q.push(1)
        q.push(2)
        with pytest.raises(PybpfError, match="full"):
            q.push(3)
        q.push(3, EXIST)  # overwrites the oldest
        assert q.peek() == 2
        assert [q.pop(), q.pop(), q.pop("empty")] == [2, 3, "empty"]
        s = c.maps["s"].typed(value="u64")
        s.push(10)
        s.push(20)
        assert [s.pop(), s.pop(), s.pop()] == [20, 10, None]
        b = c.maps["b"].typed(value="u64")
        for v in range(0, 40, 2):
            b.push(v)
        assert all(b.contains_value(v) for v in range(0, 40, 2))
        assert sum(b.contains_value(v) for v in range(1000, 1100)) < 50


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_operations_exist_on_both_backends(backend: str) -> None:
    """Before: the vm maps had no update_batch/delete_batch/drain."""
    with _maps(backend) as c:
        h = c.maps["h"].typed(key="u32", value=StructCodec("IIQ", ["a", "b", "c"]))
        assert h.update_batch({k: (k, k * 2, k * 3) for k in range(3)}) == 3
        assert sorted(tuple(v) for v in h.values()) == [(0, 0, 0), (1, 2, 3), (2, 4, 6)]
        assert h.delete_batch([0, 1]) == 2
        assert [(k, tuple(v)) for k, v in h.drain()] == [(2, (2, 4, 6))]
        assert len(h) == 0
        with pytest.raises(MapError, match="contains_value is for bloom filter maps"):
            h.contains_value(1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_map_errors_say_what_happened(backend: str) -> None:
    with CollectionSpec(maps={"h": MapSpec("h", MapType.HASH, 4, 4, 2),
                              "a": MapSpec("a", MapType.ARRAY, 4, 4, 2)}).load(backend) as c:
        h = c.maps["h"].typed(key="u32", value="u32")
        with pytest.raises(PybpfError, match="no such key"):
            h.update(5, 1, flags=EXIST)
        a = c.maps["a"].typed(key="u32", value="u32")
        with pytest.raises(PybpfError, match="has no deletion"):
            del a[0]


def test_unknown_backend_is_bad_input() -> None:
    with pytest.raises(BadInput, match="unknown backend 'gpu': choose 'kernel' or 'vm'"):
        CollectionSpec().load("gpu")


def test_assemble_program_accepts_bytes() -> None:
    """Before: TypeError from the lexer for a file read in binary mode."""
    asm = assemble_program(b"mov r0, 1\nexit\n", "x.s")
    assert [i.opcode for i in asm.insns] == [0xB7, 0x95]
    with pytest.raises(BadInput, match="x.s: not UTF-8 text"):
        assemble_program(b"\xff\xfe mov", "x.s")


@pytest.mark.kernel
def test_empty_program_in_the_kernel_is_named_empty() -> None:
    """Before: 'the program is too large for this kernel' (the kernel's E2BIG)."""
    spec = CollectionSpec(programs={"p": ProgramSpec("p", ProgType.SOCKET_FILTER, [])})
    with pytest.raises(BadInput, match="program 'p': the program is empty"):
        spec.load("kernel")


@pytest.mark.kernel
def test_map_from_id_out_of_range() -> None:
    from pybpf.kernel.maps import KernelMap

    for bad in (-1, 0, 1 << 32):
        with pytest.raises(BadInput, match=f"map id {bad} is out of range"):
            KernelMap.from_id(bad)


@pytest.mark.kernel
def test_open_pinned_non_bpf_file_as_root() -> None:
    from pybpf.kernel.maps import KernelMap

    with pytest.raises(PybpfError, match="not a pinned BPF object"):
        KernelMap.open_pinned("/sys/fs/bpf")


def test_struct_value_roundtrip_through_the_vm_map() -> None:
    codec = StructCodec("I4sQ", ["pid", "comm", "ts"], strings=["comm"])
    with CollectionSpec(maps={"m": MapSpec("m", MapType.HASH, 4, 16, 2)}).load("vm") as c:
        m = c.maps["m"].typed(key="u32", value=codec)
        m[7] = (7, "ab", 99)
        assert m[7] == (7, "ab", 99)
        assert c.maps["m"].lookup_raw(struct.pack("<I", 7)) == struct.pack("<I4sQ", 7, b"ab", 99)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_map_flags_are_refused_by_both_backends(backend: str) -> None:
    """Before: the vm created a hash map with flags=1<<30; the kernel refuses it."""
    spec = CollectionSpec(maps={"m": MapSpec("m", MapType.HASH, 4, 4, 4, flags=1 << 30)})
    with pytest.raises(PybpfError, match="map 'm'|creating map 'm'"):
        spec.load(backend)


@pytest.mark.kernel
def test_kernel_percpu_update_raw_accepts_one_value() -> None:
    """As the vm maps do: one value_size buffer is written to every CPU."""
    spec = CollectionSpec(maps={"p": MapSpec("p", MapType.PERCPU_ARRAY, 4, 4, 1)})
    with spec.load("kernel") as c:
        m = c.maps["p"]
        m.update_raw(b"\0" * 4, b"\x07\0\0\0")
        assert m.typed(key="u32", value="u32")[0] == [7] * m.ncpus


@pytest.mark.kernel
def test_kernel_test_run_with_a_short_ctx_grows_ctx_out() -> None:
    """Before: 'No space left on device (errno 28)': ctx_size_out was len(ctx), smaller
    than the xdp_md the kernel writes back."""
    prog = assemble_program("r0 = 2\nexit\n", "o.s").to_spec("op", ProgType.XDP)
    with CollectionSpec(programs={"op": prog}).load("kernel") as c:
        res = c.programs["op"].test_run(bytes(64), ctx=bytes(8))
        assert res.retval == 2
        assert len(res.ctx_out) == 24  # sizeof(struct xdp_md)


@pytest.mark.kernel
def test_kernel_test_run_of_a_huge_packet_says_so() -> None:
    """Before: 'out of memory (check RLIMIT_MEMLOCK or lower max_entries)'."""
    prog = assemble_program("r0 = 2\nexit\n", "o.s").to_spec("op", ProgType.XDP)
    with CollectionSpec(programs={"op": prog}).load("kernel") as c:
        with pytest.raises(PybpfError, match="the packet is too large for a test run"):
            c.programs["op"].test_run(bytes(100_000))


def test_btf_member_path_index_out_of_range() -> None:
    """Before: task_struct.comm[99] gave an offset 83 bytes past the end of comm."""
    import os

    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no vmlinux BTF")
    from pybpf.btf import vmlinux

    btf = vmlinux()
    last = btf.member_path("task_struct", "comm[15]")
    first = btf.member_path("task_struct", "comm[0]")
    assert last.bit_offset - first.bit_offset == 15 * 8
    with pytest.raises(PybpfError, match=r"index \[16\] is out of range for comm \(char\[16\]"):
        btf.member_path("task_struct", "comm[16]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_program_or_map_names_what_there_is(backend: str) -> None:
    """Before: a bare KeyError: 'x'."""
    prog = assemble_program("r0 = 0\nexit\n", "o.s").to_spec("op", ProgType.SOCKET_FILTER)
    spec = CollectionSpec(programs={"op": prog}, maps={"m": MapSpec("m", MapType.HASH, 4, 4, 1)})
    with spec.load(backend) as c:
        with pytest.raises(PybpfError, match=r"no map 'x' in the collection \(have: m\)"):
            c.maps["x"]
        with pytest.raises(KeyError):  # still a KeyError for dict-style callers
            c.programs["x"]
        assert c.maps.get("x") is None and "op" in c.programs


def test_ctypes_codecs_check_size_and_build_values() -> None:
    """Before: typed(key=c_uint64) on a 4-byte key was accepted, m[6] encoded bytes(6)
    (six zero bytes), and c_uint32 keys decoded to unhashable-by-value c_uint objects."""
    import ctypes

    class V(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint64)]

    with CollectionSpec(maps={"m": MapSpec("m", MapType.HASH, 4, 16, 4)}).load("vm") as c:
        m = c.maps["m"]
        with pytest.raises(MapError, match="is 8 bytes but the map holds 4"):
            m.typed(key=ctypes.c_uint64)
        with pytest.raises(MapError, match="unknown codec 3.5"):
            m.typed(key=3.5)
        m.typed(key=ctypes.c_uint32, value=V)
        m[ctypes.c_uint32(5)] = V(1, 2)
        m[6] = (3, 4)
        assert sorted((k, (v.a, v.b)) for k, v in m.items()) == [(5, (1, 2)), (6, (3, 4))]
        with pytest.raises(MapError, match="cannot make a c_u?int.* from .x."):
            m["x"] = (1, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_map_of_maps_takes_the_inner_map_object(backend: str) -> None:
    """Before (vm): TypeError from RawCodec for aom[0] = inner, and 'expected 4 bytes,
    got 0' for a mismatching inner map."""
    inner = MapSpec("inner", MapType.ARRAY, 4, 4, 2)
    spec = CollectionSpec(maps={
        "aom": MapSpec("aom", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner=inner),
        "i1": MapSpec("i1", MapType.ARRAY, 4, 4, 2),
        "i2": MapSpec("i2", MapType.HASH, 4, 4, 2),
    })
    with spec.load(backend) as c:
        aom = c.maps["aom"].typed(key="u32", value="u32")
        aom[0] = c.maps["i1"]
        inner_id = c.maps["i1"].id  # type: ignore[attr-defined]
        assert aom[0] == inner_id  # lookups answer the inner map's id
        with pytest.raises(PybpfError, match="inner"):
            aom[1] = c.maps["i2"]
        del aom[0]
        assert 0 not in aom


@pytest.mark.kernel
def test_have_helper_takes_names_with_the_bpf_prefix() -> None:
    """Before: have_helper(XDP, 'bpf_map_lookup_elem') was False, an unknown id raised
    IndexError and an int program type AttributeError."""
    from pybpf.kernel import features

    assert features.have_helper(ProgType.SOCKET_FILTER, "bpf_map_lookup_elem")
    assert features.have_helper(int(ProgType.XDP), "xdp_adjust_head")
    assert not features.have_helper(ProgType.SOCKET_FILTER, "bpf_xdp_adjust_head")
    with pytest.raises(BadInput, match="unknown helper 'nosuch'"):
        features.have_helper(ProgType.XDP, "nosuch")
    with pytest.raises(BadInput, match="unknown helper id 9999"):
        features.have_helper(ProgType.XDP, 9999)


def test_fields_that_do_not_fit_are_bad_input_not_struct_errors() -> None:
    """Before: Builder().load('u32', 0, 1, 1 << 20) passed validation and encode() raised
    struct.error; a negative register silently encoded as r15."""
    from pybpf.asm import Builder, encode
    from pybpf.asm.insn import Insn

    with pytest.raises(BadInput, match="instruction 0: offset 1048576 does not fit in 16 bits"):
        Builder().load("u32", 0, 1, 1 << 20).exit().insns()
    with pytest.raises(BadInput, match=r"negative register number \(dst=-1, src=1\)"):
        Builder().mov(-1, 1).exit().insns()
    with pytest.raises(BadInput, match="instruction 1: cannot encode"):
        encode([Insn(0x95, 0, 0, 0, 0), Insn(0xB7, 0, 0, 0, 1 << 33)])
    assert encode([Insn(0xB7, 0, 0, 0, -1)]) == bytes.fromhex("b7000000ffffffff")


@pytest.mark.parametrize("backend", BACKENDS)
def test_keyless_maps_clear_and_refuse_iteration_clearly(backend: str) -> None:
    """Before: the vm's clear() left a queue full; the kernel's len(queue) said only
    'invalid argument: this map type cannot be iterated'."""
    spec = CollectionSpec(maps={"q": MapSpec("q", MapType.QUEUE, 0, 8, 4),
                                "r": MapSpec("r", MapType.RINGBUF, 0, 0, 4096)})
    with spec.load(backend) as c:
        q = c.maps["q"].typed(value="u64")
        q.push(1)
        q.push(2)
        q.clear()
        assert q.peek() is None
        if backend == "kernel":
            with pytest.raises(PybpfError, match=r"\(queue\) has no keys.*pop\(\)/peek"):
                len(q)
            with pytest.raises(PybpfError, match="ring buffer reader"):
                list(c.maps["r"].items())
