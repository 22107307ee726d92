"""Helpers by kernel id: maps, time, task values, printk, probe_read, ringbuf, perf, strings."""

from __future__ import annotations

import errno
import struct

import pytest
from vm_build import alu, call, exit_, jmp, ld64, ldx, mov, movr, spec, st, stx

from pybpf.asm.insn import Insn
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import CollectionSpec, MapRef, MapSpec
from pybpf.uapi import HELPER_IDS as H
from pybpf.uapi import MapType
from pybpf.vm import VmError, VmProgram, register_helper
from pybpf.vm.helpers import HELPERS

U64 = 2**64 - 1


def put(off: int, data: bytes) -> list[Insn]:
    """Store ``data`` at r10 + off (8 bytes at a time)."""
    data = data + b"\0" * (-len(data) % 8)
    out: list[Insn] = []
    for k in range(0, len(data), 8):
        out += ld64(9, int.from_bytes(data[k:k + 8], "little"))
        out.append(stx(8, 10, 9, off + k))
    return out


def ptr(reg: int, off: int) -> list[Insn]:
    return [movr(reg, 10), alu("add", reg, off)]


def make(*body, maps=None, refs=(), **kw) -> VmProgram:  # type: ignore[no-untyped-def]
    return VmProgram(spec(*body, map_refs=list(refs)), maps or {}, **kw)


def vmmap(name: str, mtype: MapType, k: int, v: int, n: int, **kw):  # type: ignore[no-untyped-def]
    from pybpf.vm.maps import create_map

    return create_map(MapSpec(name, mtype, k, v, n, **kw))


# -- maps ----------------------------------------------------------------------

def _counter_prog() -> list:  # type: ignore[type-arg]
    """counts[key=r1 byte 0] += 1 (insert 1 if missing); returns the new count."""
    return [ldx(1, 6, 1, 0), stx(4, 10, 6, -4),
            ld64(1, 0, PseudoSrc.MAP_FD), *ptr(2, -4), call(H["map_lookup_elem"]),  # 2..6
            jmp("jeq", 0, 4, imm=0),                                                # 7 -> 12
            ldx(8, 1, 0, 0), alu("add", 1, 1), stx(8, 0, 1, 0), movr(0, 1), exit_()]  # 8..12?


def test_hash_map_lookup_update_delete_from_a_program() -> None:
    m = vmmap("counts", MapType.HASH, 4, 8, 16)
    body = [ldx(1, 6, 1, 0), stx(4, 10, 6, -4),                              # 0, 1
            ld64(1, 0, PseudoSrc.MAP_FD), *ptr(2, -4), call(H["map_lookup_elem"]),  # 2..6
            jmp("jeq", 0, 5, imm=0),                                         # 7 -> 13
            ldx(8, 1, 0, 0), alu("add", 1, 1), stx(8, 0, 1, 0), movr(0, 1), exit_(),  # 8..12
            st(8, 10, -16, 1),                                               # 13
            ld64(1, 0, PseudoSrc.MAP_FD), *ptr(2, -4), *ptr(3, -16), mov(4, 0),   # 14..20
            call(H["map_update_elem"]), exit_()]                             # 21, 22
    p = make(*body, maps={"counts": m}, refs=[MapRef(2, "counts"), MapRef(14, "counts")])
    assert p.run(b"\x05") == 0  # inserted
    assert p.run(b"\x05") == 2
    assert p.run(b"\x05") == 3
    assert p.run(b"\x06") == 0
    assert m.lookup_raw(b"\x05\0\0\0") == struct.pack("<Q", 3)
    assert m.lookup_raw(b"\x06\0\0\0") == struct.pack("<Q", 1)
    dele = [st(4, 10, -4, 5), ld64(1, 0, PseudoSrc.MAP_FD), *ptr(2, -4),
            call(H["map_delete_elem"]), exit_()]
    d = make(*dele, maps={"counts": m}, refs=[MapRef(1, "counts")])
    assert d.run() == 0
    assert d.run() == (-errno.ENOENT) & U64
    assert m.lookup_raw(b"\x05\0\0\0") is None


def test_update_with_noexist_reports_eexist() -> None:
    m = vmmap("a", MapType.ARRAY, 4, 4, 2)
    body = [st(4, 10, -4, 0), st(4, 10, -8, 9), ld64(1, 0, PseudoSrc.MAP_IDX), *ptr(2, -4),
            *ptr(3, -8), mov(4, 1), call(H["map_update_elem"]), exit_()]
    assert make(*body, maps={"a": m}).run() == (-errno.EEXIST) & U64


def test_collection_loads_through_the_vm_backend() -> None:
    body = [ld64(1, 0, PseudoSrc.MAP_VALUE), ldx(8, 0, 1, 8), alu("add", 0, 1),
            stx(8, 1, 0, 8), exit_()]
    cs = CollectionSpec(
        programs={"p": spec(*body, map_refs=[MapRef(0, ".data", PseudoSrc.MAP_VALUE, 0)])},
        maps={".data": MapSpec(".data", MapType.ARRAY, 4, 16, 1,
                               contents=[(b"\0" * 4, struct.pack("<QQ", 0, 41))])},
    )
    coll = cs.load(backend="vm")
    assert coll.programs["p"].run() == 42
    assert coll.maps[".data"].lookup_raw(b"\0" * 4) == struct.pack("<QQ", 0, 42)
    assert coll.programs["p"].test_run().retval == 43


def test_map_value_by_index_with_offset() -> None:
    m = vmmap("g", MapType.ARRAY, 4, 16, 1)
    m.update_raw(b"\0" * 4, struct.pack("<QQ", 5, 6))
    body = [Insn(0x18, 1, PseudoSrc.MAP_IDX_VALUE, 0, 0), Insn(0, 0, 0, 0, 8),
            ldx(8, 0, 1, 0), exit_()]
    assert make(*body, maps={"g": m}).run() == 6


def test_read_only_map_values_reject_stores() -> None:
    ro = vmmap(".rodata", MapType.ARRAY, 4, 8, 1, flags=1 << 7)
    body = [ld64(1, 0, PseudoSrc.MAP_VALUE), st(8, 1, 0, 1), exit_()]
    p = make(*body, maps={".rodata": ro}, refs=[MapRef(0, ".rodata", PseudoSrc.MAP_VALUE)])
    with pytest.raises(VmError, match=r"^insn 2: write of 8 bytes at 0x[0-9a-f]+ into "
                                      r"read-only value of map '.rodata'"):
        p.run()


def test_map_value_pointer_bounds() -> None:
    m = vmmap("h", MapType.HASH, 4, 8, 4)
    m.update_raw(b"\0" * 4, b"\1" * 8)
    body = [st(4, 10, -4, 0), ld64(1, 0, PseudoSrc.MAP_IDX), *ptr(2, -4),
            call(H["map_lookup_elem"]), ldx(8, 0, 0, 4), exit_()]
    with pytest.raises(VmError, match=r"^insn 6: out-of-bounds read of 8 bytes at .* "
                                      r"\(value of map 'h' is "):
        make(*body, maps={"h": m}).run()


def test_queue_push_pop_peek() -> None:
    q = vmmap("q", MapType.QUEUE, 0, 8, 4)
    push = [st(8, 10, -8, 0), ldx(1, 6, 1, 0), stx(8, 10, 6, -8), ld64(1, 0, PseudoSrc.MAP_IDX),
            *ptr(2, -8), mov(3, 0), call(H["map_push_elem"]), exit_()]
    p = make(*push, maps={"q": q})
    assert [p.run(bytes([v])) for v in (7, 8)] == [0, 0]
    for helper, expected in (("map_peek_elem", 7), ("map_pop_elem", 7), ("map_pop_elem", 8)):
        body = [ld64(1, 0, PseudoSrc.MAP_IDX), *ptr(2, -8), call(H[helper]),
                jmp("jne", 0, 2, imm=0), ldx(8, 0, 10, -8), exit_(), mov(0, -1), exit_()]
        assert make(*body, maps={"q": q}).run() == expected
    body = [ld64(1, 0, PseudoSrc.MAP_IDX), *ptr(2, -8), call(H["map_pop_elem"]), exit_()]
    assert make(*body, maps={"q": q}).run() == (-errno.ENOENT) & U64


# -- time, cpu, task values -------------------------------------------------------

def test_time_cpu_and_task_values_come_from_the_program_object() -> None:
    p = make(call(H["ktime_get_ns"]), exit_())
    p.clock = lambda: 123456789
    assert p.run() == 123456789
    p = make(call(H["get_smp_processor_id"]), exit_())
    p.cpu = 3
    assert p.run() == 3
    p = make(call(H["get_current_pid_tgid"]), exit_())
    p.pid, p.tgid = 1001, 1000
    assert p.run() == (1000 << 32) | 1001
    p = make(call(H["get_current_uid_gid"]), exit_())
    p.uid, p.gid = 1000, 100
    assert p.run() == (100 << 32) | 1000
    p = make(*ptr(1, -16), mov(2, 16), call(H["get_current_comm"]), ldx(8, 0, 10, -16), exit_())
    p.comm = "bash"
    assert p.run() == int.from_bytes(b"bash\0\0\0\0", "little")


def test_boot_clock_and_prandom() -> None:
    p = make(call(H["ktime_get_boot_ns"]), exit_())
    p.boot_clock = lambda: 77
    assert p.run() == 77
    a = make(call(H["get_prandom_u32"]), exit_(), seed=1)
    b = make(call(H["get_prandom_u32"]), exit_(), seed=1)
    seq = [a.run() for _ in range(5)]
    assert seq == [b.run() for _ in range(5)]
    assert all(0 <= v < 2**32 for v in seq) and len(set(seq)) > 1


# -- printk, snprintf, strings, probe_read -------------------------------------------

def test_trace_printk_formats_into_a_list() -> None:
    fmt = b"x=%d y=%u z=%x s=%lld %%\n\0"
    body = [*put(-32, fmt), *ptr(1, -32), mov(2, len(fmt)), mov(3, -1), mov(4, -1), mov(5, 255),
            call(H["trace_printk"]), exit_()]
    p = make(*body)
    r0 = p.run()
    assert p.printk == ["x=-1 y=4294967295 z=ff s=0 %\n"]
    assert r0 == len(p.printk[0])


def test_snprintf_writes_a_truncated_string_and_returns_the_full_length() -> None:
    fmt = b"%s-%d\0"
    body = [*put(-16, b"abc\0"), *put(-32, fmt),
            *ptr(1, -16), stx(8, 10, 1, -48), st(8, 10, -40, -5),          # args at -48
            *ptr(1, -64), mov(2, 6), *ptr(3, -32), *ptr(4, -48), mov(5, 16),
            call(H["snprintf"]), movr(6, 0), ldx(8, 0, 10, -64), alu("lsh", 6, 56),
            alu("or", 0, src=6), exit_()]
    r0 = make(*body).run()
    assert r0 & ((1 << 56) - 1) == int.from_bytes(b"abc--\0", "little")  # "abc--5" cut to 5
    assert r0 >> 56 == len(b"abc--5") + 1


def test_strncmp() -> None:
    def cmp(a: bytes, b: bytes, n: int) -> int:
        body = [*put(-16, a), *put(-32, b), *ptr(1, -16), mov(2, n), *ptr(3, -32),
                call(H["strncmp"]), exit_()]
        v = make(*body).run()
        return v - 2**64 if v >> 63 else v

    assert cmp(b"abc\0", b"abc\0", 8) == 0
    assert cmp(b"abd\0", b"abc\0", 8) > 0
    assert cmp(b"abc\0", b"abd\0", 8) < 0
    assert cmp(b"abcX\0", b"abcY\0", 3) == 0


def test_probe_read_bad_address_returns_efault_and_zeroes_dst() -> None:
    body = [st(8, 10, -8, -1), *ptr(1, -8), mov(2, 8), mov(3, 0x40),
            call(H["probe_read_kernel"]), ldx(8, 6, 10, -8), alu("lsh", 0, 32),
            alu("or", 0, src=6), exit_()]
    r0 = make(*body).run()
    assert r0 >> 32 == (-errno.EFAULT) & 0xFFFFFFFF
    assert r0 & 0xFFFFFFFF == 0


def test_probe_read_and_probe_read_str_copy_vm_memory() -> None:
    body = [*ptr(1, -8), mov(2, 8), movr(3, 6), call(H["probe_read_user"]),
            ldx(8, 0, 10, -8), exit_()]
    body = [movr(6, 1), *body]
    assert make(*body).run(b"ABCDEFGHIJ") == int.from_bytes(b"ABCDEFGH", "little")
    body = [movr(6, 1), st(8, 10, -8, 0), *ptr(1, -8), mov(2, 8), movr(3, 6),
            call(H["probe_read_str"]), ldx(8, 6, 10, -8), alu("lsh", 0, 56), alu("or", 0, src=6),
            exit_()]
    r0 = make(*body).run(b"hi\0zz")
    assert (r0 >> 56, r0 & ((1 << 56) - 1)) == (3, int.from_bytes(b"hi", "little"))
    r0 = make(*body).run(b"0123456789")  # truncated to 7 chars + NUL
    assert (r0 >> 56, r0 & ((1 << 56) - 1)) == (8, int.from_bytes(b"0123456", "little"))


# -- ringbuf and perf --------------------------------------------------------------

def test_ringbuf_output_reserve_submit_discard_query() -> None:
    rb = vmmap("rb", MapType.RINGBUF, 0, 0, 4096)
    out = [*put(-8, b"evt1\0\0\0\0"), ld64(1, 0, PseudoSrc.MAP_IDX), *ptr(2, -8), mov(3, 8),
           mov(4, 0), call(H["ringbuf_output"]), exit_()]
    assert make(*out, maps={"rb": rb}).run() == 0
    res = [ld64(1, 0, PseudoSrc.MAP_IDX), mov(2, 4), mov(3, 0), call(H["ringbuf_reserve"]),
           jmp("jeq", 0, 5, imm=0), ldx(1, 7, 6, 0), stx(4, 0, 7, 0),
           movr(1, 0), mov(2, 0), call(H["ringbuf_submit"]), exit_()]
    res = [movr(6, 1), *res]
    assert make(*res, maps={"rb": rb}).run(b"\x09") == 0
    dis = [ld64(1, 0, PseudoSrc.MAP_IDX), mov(2, 4), mov(3, 0), call(H["ringbuf_reserve"]),
           st(4, 0, 0, 5), movr(1, 0), mov(2, 0), call(H["ringbuf_discard"]), exit_()]
    assert make(*dis, maps={"rb": rb}).run() == 0
    assert rb.consume() == [b"evt1\0\0\0\0", b"\x09\0\0\0"]
    q = [ld64(1, 0, PseudoSrc.MAP_IDX), mov(2, 0), call(H["ringbuf_query"]), exit_()]
    assert make(*q, maps={"rb": rb}).run() == 0  # BPF_RB_AVAIL_DATA after consuming


def test_ringbuf_record_is_unmapped_after_submit() -> None:
    rb = vmmap("rb", MapType.RINGBUF, 0, 0, 4096)
    body = [ld64(1, 0, PseudoSrc.MAP_IDX), mov(2, 8), mov(3, 0), call(H["ringbuf_reserve"]),
            movr(6, 0), movr(1, 0), mov(2, 0), call(H["ringbuf_submit"]), st(1, 6, 0, 1),
            exit_()]
    with pytest.raises(VmError, match=r"^insn 9: write of 1 bytes at .*not mapped"):
        make(*body, maps={"rb": rb}).run()


def test_perf_event_output_current_cpu() -> None:
    pe = vmmap("ev", MapType.PERF_EVENT_ARRAY, 4, 4, 4)
    body = [*put(-8, b"perfdata"), movr(1, 1), ld64(2, 0, PseudoSrc.MAP_IDX),
            ld64(3, 0xFFFFFFFF), *ptr(4, -8), mov(5, 8), call(H["perf_event_output"]), exit_()]
    p = make(*body, maps={"ev": pe})
    p.cpu = 2
    assert p.run() == 0
    assert pe.consume() == [(2, b"perfdata")]


def test_spin_lock_and_unknown_map_handle() -> None:
    assert make(*ptr(1, -8), call(H["spin_lock"]), exit_()).run() == 0
    with pytest.raises(VmError, match=r"^insn 3: map_lookup_elem: 0x1234 is not a map$"):
        make(mov(1, 0x1234), *ptr(2, -8), call(H["map_lookup_elem"]), exit_()).run()


def test_register_helper_extends_the_table() -> None:
    hid = 9999
    try:
        register_helper(hid, lambda vm, r1, *_: r1 * 3)
        assert make(mov(1, 14), call(hid), exit_()).run() == 42
    finally:
        HELPERS.pop(hid, None)
    p = VmProgram(spec(mov(1, 2), call(hid), exit_()), helpers={hid: lambda vm, r1, *_: r1 + 1})
    assert p.run() == 3
