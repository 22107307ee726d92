"""Kernel programs: load hand-built programs, BPF_PROG_TEST_RUN, verifier errors, collections,
and that nothing leaks."""

from __future__ import annotations

import os
import struct
import time

import pytest

from pybpf.asm.insn import Insn, lddw
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import CollectionSpec, MapRef, MapSpec, ProgramSpec, SourceLoc
from pybpf.uapi import MapType, ProgType

pytestmark = pytest.mark.kernel

EXIT = Insn(0x95)


def mov(dst: int, imm: int) -> Insn:
    return Insn(0xB7, dst, 0, 0, imm)


def ldxw(dst: int, src: int, off: int) -> Insn:
    return Insn(0x61, dst, src, off, 0)


def _gone(kind: str, obj_id: int) -> bool:
    """True once no kernel object of ``kind`` has ``obj_id`` (freeing may be deferred)."""
    from pybpf.kernel.info import ids

    for _ in range(200):
        if obj_id not in set(ids(kind)):
            return True
        time.sleep(0.01)
    return False


def _named(kind: str, name: str) -> list[int]:
    from pybpf.kernel import info

    objs = info.list_maps() if kind == "map" else info.list_progs()
    return [o.id for o in objs if o.name == name]


# a packet: 14-byte Ethernet header + 50 bytes
PKT = bytes(range(64))


def test_xdp_packet_length() -> None:
    from pybpf.kernel import load_program

    # r2 = ctx->data_end; r1 = ctx->data; r0 = r2 - r1
    insns = [ldxw(2, 1, 4), ldxw(1, 1, 0), Insn(0xBF, 0, 2, 0, 0), Insn(0x1F, 0, 1, 0, 0), EXIT]
    with load_program(ProgramSpec("xdp_len", ProgType.XDP, insns)) as p:
        for n in (14, 64, 200):
            r = p.test_run(PKT * 4 if n == 200 else PKT[:n])
            assert r.retval == (n if n != 200 else 256)
        r = p.test_run(PKT, repeat=50)
        assert r.retval == 64 and r.data_out == PKT and r.duration_ns >= 0


def test_xdp_writes_packet() -> None:
    from pybpf.kernel import load_program

    insns = [
        ldxw(2, 1, 0), ldxw(3, 1, 4), mov(0, 0),
        Insn(0xBF, 4, 2, 0, 0), Insn(0x07, 4, 0, 0, 2),
        Insn(0x2D, 4, 3, 3, 0),  # if data + 2 > data_end goto exit (r0 = XDP_ABORTED)
        Insn(0x72, 2, 0, 0, 0xAB), Insn(0x72, 2, 0, 1, 0xCD), mov(0, 2),
        EXIT,
    ]
    with load_program(ProgramSpec("xdp_write", ProgType.XDP, insns)) as p:
        r = p.test_run(PKT)
        assert r.retval == 2
        assert r.data_out == b"\xab\xcd" + PKT[2:]


def test_socket_filter_skb_len() -> None:
    from pybpf.kernel import load_program

    with load_program(ProgramSpec("sf_len", ProgType.SOCKET_FILTER, [ldxw(0, 1, 0), EXIT])) as p:
        # a socket filter sees the packet after the Ethernet header (BPF_PROG_TEST_RUN, non-L2)
        assert p.test_run(PKT).retval == len(PKT) - 14
        assert p.test_run(PKT * 3).retval == 3 * len(PKT) - 14


def _counter_prog(map_name: str) -> list[Insn]:
    a, b = lddw(1, 0, PseudoSrc.MAP_FD)
    return [
        mov(0, 0), Insn(0x63, 10, 0, -4, 0),  # *(u32*)(fp-4) = 0
        Insn(0xBF, 2, 10, 0, 0), Insn(0x07, 2, 0, 0, -4),  # r2 = fp - 4
        a, b,  # r1 = map
        Insn(0x85, 0, 0, 0, 1),  # call map_lookup_elem
        Insn(0x15, 0, 0, 2, 0),  # if r0 == 0 goto +2
        mov(1, 1), Insn(0xDB, 0, 1, 0, 0),  # lock *(u64*)(r0) += r1
        mov(0, 2), EXIT,
    ]


def test_program_uses_map_fd() -> None:
    from pybpf.kernel import KernelMap, load_program

    with KernelMap.create(MapSpec("cnt", MapType.ARRAY, 4, 8, 1)).typed("u32", "u64") as m:
        spec = ProgramSpec("count", ProgType.XDP, _counter_prog("cnt"), map_refs=[MapRef(4, "cnt")])
        with load_program(spec, {"cnt": m}) as p:
            assert p.test_run(PKT, repeat=17).retval == 2
            assert m[0] == 17
            p.test_run(PKT, repeat=3)
            assert m[0] == 20
            assert m.id in p.info().map_ids


def test_program_uses_map_value_with_offset() -> None:
    from pybpf.kernel import KernelMap, load_program

    m = KernelMap.create(MapSpec("vals", MapType.ARRAY, 4, 16, 1))
    try:
        m.update_raw(b"\0\0\0\0", struct.pack("<IIII", 11, 22, 33, 44))
        a, b = lddw(1, 0, PseudoSrc.MAP_VALUE)
        insns = [a, b, ldxw(0, 1, 0), EXIT]
        for off, want in ((0, 11), (8, 33), (12, 44)):
            spec = ProgramSpec("val", ProgType.XDP, insns,
                               map_refs=[MapRef(0, "vals", PseudoSrc.MAP_VALUE, off)])
            with load_program(spec, {"vals": m}) as p:
                assert p.test_run(PKT).retval == want
    finally:
        m.close()


def test_unknown_map_ref_is_one_line_error() -> None:
    from pybpf.errors import PybpfError
    from pybpf.kernel import load_program

    spec = ProgramSpec("count", ProgType.XDP, _counter_prog("nope"), map_refs=[MapRef(4, "nope")])
    with pytest.raises(PybpfError, match=r"instruction 4: map 'nope' is not defined"):
        load_program(spec, {})


def test_verifier_error_is_trimmed_and_mapped_to_source() -> None:
    from pybpf.kernel import VerifierError, load_program

    insns = [mov(0, 1), mov(2, 5), ldxw(0, 1, 9999), EXIT]
    spec = ProgramSpec("bad_ctx", ProgType.SOCKET_FILTER, insns,
                       source_map={2: SourceLoc("probe.bt", 3, 9, "$x = *ctx")})
    with pytest.raises(VerifierError) as ei:
        load_program(spec)
    e = ei.value
    assert e.insn == 2
    assert "invalid bpf_context access off=9999" in e.summary
    msg = str(e)
    assert "\n" not in msg
    assert msg.startswith("program 'bad_ctx' (socket_filter) rejected by the verifier at "
                          "instruction 2 (probe.bt:3:9: $x = *ctx): invalid bpf_context access")
    assert "processed" in e.log  # the full log keeps the statistics
    assert e.trimmed.splitlines()[-1] == e.summary
    assert "processed" not in e.trimmed
    assert e.trimmed.splitlines()[-2].startswith("2: (61) r0 = *(u32 *)(r1 +9999)")


def test_verifier_log_grows_and_is_kept_on_success() -> None:
    from pybpf.kernel import load_program

    insns = [mov(0, i) for i in range(3000)] + [EXIT]
    with load_program(ProgramSpec("long", ProgType.SOCKET_FILTER, insns), log_level=2,
                      log_size=4096) as p:
        assert "processed 3001 insns" in p.verifier_log
        assert len(p.verifier_log) > 4096
        assert p.test_run(PKT).retval == 2999


def test_prog_name_is_sanitized_and_truncated() -> None:
    from pybpf.kernel import load_program
    from pybpf.kernel.info import prog_by_id

    with load_program(ProgramSpec("tracepoint/syscalls:enter", ProgType.SOCKET_FILTER,
                                  [mov(0, 0), EXIT])) as p:
        d = prog_by_id(p.id, xlated=True)
        assert d.name == "tracepoint_sysc"
        assert d.type == ProgType.SOCKET_FILTER and d.xlated_len == 16
        assert d.xlated == mov(0, 0).encode() + EXIT.encode()
        assert len(d.tag) == 16


def test_pin_program_and_reopen() -> None:
    from pybpf.kernel import KernelProgram, load_program
    from pybpf.kernel.pin import BPFFS, ensure_bpffs, unpin

    ensure_bpffs()
    path = f"{BPFFS}/pybpf_prog_{os.getpid()}"
    p = load_program(ProgramSpec("pinme", ProgType.SOCKET_FILTER, [mov(0, 7), EXIT]))
    try:
        p.pin(path)
        pid = p.id
        p.close()
        with KernelProgram.open_pinned(path) as again:
            assert again.id == pid and again.name == "pinme"
            assert again.test_run(PKT).retval == 7
    finally:
        p.close()
        unpin(path)
    assert _gone("prog", pid)


def test_collection_load_and_close() -> None:
    from pybpf.kernel import KernelMap

    name = f"cl{os.getpid() % 100000}"
    spec = CollectionSpec(
        maps={name: MapSpec(name, MapType.ARRAY, 4, 8, 1,
                            contents=[(b"\0\0\0\0", struct.pack("<Q", 100))])},
        programs={"count": ProgramSpec("count", ProgType.XDP, _counter_prog(name),
                                       map_refs=[MapRef(4, name)])},
    )
    coll = spec.load(backend="kernel")
    try:
        m = coll.maps[name]
        assert isinstance(m, KernelMap)
        m.typed("u32", "u64")
        assert m[0] == 100
        assert coll.programs["count"].test_run(PKT, repeat=5).retval == 2
        assert m[0] == 105
        mid, pid = m.id, coll.programs["count"].id
    finally:
        coll.close()
    assert _gone("map", mid) and _gone("prog", pid)


def test_collection_failure_releases_everything() -> None:
    from pybpf.kernel import VerifierError

    name = f"lk{os.getpid() % 100000}"
    spec = CollectionSpec(
        maps={name: MapSpec(name, MapType.HASH, 4, 8, 4),
              name + "b": MapSpec(name + "b", MapType.ARRAY, 4, 8, 4)},
        programs={
            "ok": ProgramSpec("okprog_" + name, ProgType.XDP, _counter_prog(name),
                              map_refs=[MapRef(4, name)]),
            "bad": ProgramSpec("bad", ProgType.XDP, [mov(0, 0), ldxw(0, 1, 999), EXIT]),
        },
    )
    with pytest.raises(VerifierError):
        spec.load(backend="kernel")
    for _ in range(200):
        if not (_named("map", name) or _named("map", name + "b")
                or _named("prog", "okprog_" + name)):
            break
        time.sleep(0.01)
    assert _named("map", name) == [] and _named("map", name + "b") == []
    assert _named("prog", ("okprog_" + name)[:15]) == []


def test_finalizer_closes_fd() -> None:
    import gc

    from pybpf.kernel import KernelMap

    m = KernelMap.create(MapSpec("gcme", MapType.HASH, 4, 4, 1))
    mid, fd = m.id, m.fd
    del m
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)
    assert _gone("map", mid)


def _btf_blob() -> tuple[bytes, dict[str, int]]:
    """Raw BTF: int (1), func_proto int(void) (2), func 'btfprog' (3), and strings."""
    names = ["", "int", "btfprog", "prog.c", "return 42;"]
    offs, strs = {}, b""
    for n in names:
        offs[n] = len(strs)
        strs += n.encode() + b"\0"
    types = struct.pack("<IIII", offs["int"], 1 << 24, 4, (1 << 24) | 32)
    types += struct.pack("<III", 0, 13 << 24, 1)  # FUNC_PROTO, no params, returns int
    types += struct.pack("<III", offs["btfprog"], (12 << 24) | 1, 2)  # FUNC global
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs, offs


def test_load_with_btf_func_and_line_info() -> None:
    from pybpf.kernel import load_program
    from pybpf.kernel.info import obj_info
    from pybpf.kernel.syscall import ProgInfo

    blob, offs = _btf_blob()
    spec = ProgramSpec("btfprog", ProgType.SOCKET_FILTER, [mov(0, 42), EXIT], btf=blob,
                       func_info=[(0, 3)],
                       line_info=[(0, offs["prog.c"], offs["return 42;"], (7 << 10) | 5)])
    with load_program(spec) as p:
        info = obj_info(p.fd, ProgInfo)
        assert info.btf_id != 0
        assert (info.nr_func_info, info.nr_line_info) == (1, 1)
        assert p.test_run(PKT).retval == 42


def test_bad_btf_is_one_line_error() -> None:
    from pybpf.kernel import BpfError, load_program

    blob, _ = _btf_blob()
    bad = blob[:24 + 16] + struct.pack("<III", 0, 13 << 24, 99) + blob[24 + 28:]  # bad ret type
    spec = ProgramSpec("btfbad", ProgType.SOCKET_FILTER, [mov(0, 0), EXIT], btf=bad,
                       func_info=[(0, 3)])
    with pytest.raises(BpfError, match="loading BTF: the kernel rejected it") as ei:
        load_program(spec)
    assert "\n" not in str(ei.value)


def test_syscall_and_raw_tracepoint_test_run_use_ctx() -> None:
    from pybpf.kernel import load_program

    # syscall program: r0 = ctx[0] * 3; ctx[1] = r0 (written back into ctx)
    insns = [ldxw(0, 1, 0), Insn(0x27, 0, 0, 0, 3), Insn(0x63, 1, 0, 4, 0), EXIT]
    with load_program(ProgramSpec("sysprog", ProgType.SYSCALL, insns, flags=1 << 4)) as p:
        r = p.test_run(ctx=struct.pack("<II", 7, 0))
        assert r.retval == 21 and r.ctx_out == struct.pack("<II", 7, 21)
    # raw tracepoint: r0 = args[1] (u64 array context)
    insns = [Insn(0x79, 0, 1, 8, 0), EXIT]
    with load_program(ProgramSpec("rawtp", ProgType.RAW_TRACEPOINT, insns)) as p:
        assert p.test_run(ctx=struct.pack("<QQ", 5, 1234)).retval == 1234


def test_structural_verifier_errors_name_the_instruction() -> None:
    from pybpf.kernel import VerifierError, load_program

    cases = [([mov(0, 0), EXIT, EXIT], 2, "unreachable insn 2"),
             ([mov(0, 0), Insn(0x05, 0, 0, 5, 0), EXIT], 1, "jump out of range from insn 1 to 7")]
    for insns, at, text in cases:
        with pytest.raises(VerifierError) as ei:
            load_program(ProgramSpec("structural", ProgType.SOCKET_FILTER, insns))
        assert ei.value.insn == at and ei.value.summary == text
        assert f"at instruction {at}: {text}" in str(ei.value)


def test_collection_pin_dir_reuses_pinned_maps() -> None:
    from pybpf.kernel import KernelMap
    from pybpf.kernel.pin import BPFFS, ensure_bpffs

    ensure_bpffs()
    pin_dir = f"{BPFFS}/pybpf_coll_{os.getpid()}"
    os.makedirs(pin_dir, exist_ok=True)
    spec = CollectionSpec(maps={"state": MapSpec("state", MapType.HASH, 4, 8, 4)})
    try:
        with spec.load(backend="kernel", pin_dir=pin_dir) as first:
            m = first.maps["state"]
            assert isinstance(m, KernelMap)
            m.typed("u32", "u64")[1] = 99
            mid = m.id
        assert os.path.exists(f"{pin_dir}/state")
        with spec.load(backend="kernel", pin_dir=pin_dir) as second:
            m2 = second.maps["state"]
            assert isinstance(m2, KernelMap)
            assert m2.id == mid and m2.typed("u32", "u64")[1] == 99
        other = CollectionSpec(maps={"state": MapSpec("state", MapType.HASH, 4, 16, 4)})
        from pybpf.errors import PybpfError

        with pytest.raises(PybpfError, match=r"the map pinned at .* is hash key=4 value=8 max=4, "
                                             r"but the spec wants hash key=4 value=16"):
            other.load(backend="kernel", pin_dir=pin_dir)
    finally:
        if os.path.exists(f"{pin_dir}/state"):
            os.unlink(f"{pin_dir}/state")
        os.rmdir(pin_dir)
    assert _gone("map", mid)
