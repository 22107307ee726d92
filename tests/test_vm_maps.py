"""vm maps: kernel semantics for every supported type (flags, full maps, eviction, order)."""

from __future__ import annotations

import errno
import struct

import pytest

from pybpf.errors import PybpfError
from pybpf.mapapi import ANY, EXIST, F_LOCK, NOEXIST, MapError
from pybpf.spec import MapSpec
from pybpf.uapi import MapType
from pybpf.vm.maps import (
    ArrayOfMapsMap,
    BloomFilterMap,
    HashOfMapsMap,
    LpmTrieMap,
    MapOpError,
    PerfEventArrayMap,
    ProgArrayMap,
    QueueMap,
    RingBufMap,
    create_map,
    map_by_id,
)


def k32(i: int) -> bytes:
    return struct.pack("<I", i)


def v64(i: int) -> bytes:
    return struct.pack("<Q", i)


def mk(mtype: MapType, key: int = 4, value: int = 8, entries: int = 4, **kw) -> MapSpec:  # type: ignore[no-untyped-def]
    return MapSpec(f"m_{mtype.name.lower()}", mtype, key, value, entries, **kw)


# -- hash ------------------------------------------------------------------

def test_hash_flags_and_errno() -> None:
    m = create_map(mk(MapType.HASH, entries=2))
    assert m.helper_update(k32(1), v64(10), EXIST) == -errno.ENOENT
    assert m.helper_update(k32(1), v64(10), NOEXIST) == 0
    assert m.helper_update(k32(1), v64(11), NOEXIST) == -errno.EEXIST
    assert m.helper_update(k32(1), v64(12), EXIST) == 0
    assert m.lookup_raw(k32(1)) == v64(12)
    assert m.helper_update(k32(2), v64(20), ANY) == 0
    assert m.helper_update(k32(3), v64(30), ANY) == -errno.E2BIG  # full
    assert m.helper_update(k32(2), v64(21), ANY) == 0  # replacing works when full
    assert m.helper_update(k32(2), v64(21), 3) == -errno.EINVAL
    assert m.helper_update(k32(2), v64(21), F_LOCK) == -errno.EINVAL  # no spin lock
    assert m.helper_delete(k32(9)) == -errno.ENOENT
    assert m.helper_delete(k32(1)) == 0
    assert m.lookup_raw(k32(1)) is None
    assert len(m) == 1


def test_hash_user_api_raises_maperror_with_errno() -> None:
    m = create_map(mk(MapType.HASH, entries=1))
    m.update(5, 50)
    with pytest.raises(MapOpError) as ei:
        m.update(5, 51, NOEXIST)
    assert ei.value.errno == errno.EEXIST and "m_hash" in str(ei.value)
    with pytest.raises(MapOpError) as ei:
        m.update(6, 60)
    assert ei.value.errno == errno.E2BIG
    with pytest.raises(MapOpError) as ei:
        m.update(7, 70, EXIST)
    assert ei.value.errno == errno.ENOENT
    with pytest.raises(MapError):
        m.update_raw(k32(5), b"short")
    assert m.delete(6) is False
    assert m[5] == v64(50)
    m.typed(key="u32", value="u64")
    assert m[5] == 50 and m.to_dict() == {5: 50}


def test_hash_value_buffer_is_live_and_stable() -> None:
    m = create_map(mk(MapType.HASH))
    m.update_raw(k32(1), v64(1))
    buf = m.value_buffer(k32(1))
    assert isinstance(buf, bytearray)
    buf[0:8] = v64(99)  # a program store through the pointer
    assert m.lookup_raw(k32(1)) == v64(99)
    m.update_raw(k32(1), v64(7))  # update copies into the same buffer
    assert m.value_buffer(k32(1)) is buf and bytes(buf) == v64(7)
    assert m.value_buffer(k32(2)) is None


def test_hash_iteration_order_and_restart() -> None:
    m = create_map(mk(MapType.HASH, entries=10))
    for i in (3, 1, 2):
        m.update_raw(k32(i), v64(i))
    assert list(m.keys_raw()) == [k32(3), k32(1), k32(2)]
    assert m.next_key_raw(k32(1)) == k32(2)
    assert m.next_key_raw(k32(2)) is None
    assert m.next_key_raw(k32(42)) == k32(3)  # a missing key restarts at the first
    m.delete_raw(k32(1))
    assert m.next_key_raw(k32(3)) == k32(2)


# -- LRU -------------------------------------------------------------------

def test_lru_evicts_least_recently_used() -> None:
    m = create_map(mk(MapType.LRU_HASH, entries=3))
    for i in (1, 2, 3):
        assert m.helper_update(k32(i), v64(i), ANY) == 0
    assert m.value_buffer(k32(1)) is not None  # a helper lookup makes 1 recent
    assert m.helper_update(k32(4), v64(4), ANY) == 0  # evicts 2, never E2BIG
    assert sorted(m.keys_raw()) == [k32(1), k32(3), k32(4)]
    assert m.helper_update(k32(3), v64(33), EXIST) == 0  # an update is a use too
    assert m.lookup_raw(k32(1)) is not None  # a user lookup is not a use
    assert m.helper_update(k32(5), v64(5), NOEXIST) == 0  # evicts 1
    assert sorted(m.keys_raw()) == [k32(3), k32(4), k32(5)]
    assert m.helper_update(k32(5), v64(5), NOEXIST) == -errno.EEXIST


def test_lru_percpu_hash() -> None:
    m = create_map(mk(MapType.LRU_PERCPU_HASH, entries=2), ncpus=2)
    m.helper_update(k32(1), v64(1), ANY, cpu=1)
    m.helper_update(k32(2), v64(2), ANY, cpu=0)
    m.helper_update(k32(3), v64(3), ANY, cpu=0)
    assert sorted(m.keys_raw()) == [k32(2), k32(3)]
    m.typed(key="u32", value="u64")
    assert m[3] == [3, 0]


# -- per-CPU ---------------------------------------------------------------

def test_percpu_hash_values_per_cpu() -> None:
    m = create_map(mk(MapType.PERCPU_HASH, value=4), ncpus=3)
    assert m.helper_update(k32(1), struct.pack("<I", 7), ANY, cpu=2) == 0
    assert bytes(m.value_buffer(k32(1), 2) or b"") == struct.pack("<I", 7)
    assert bytes(m.value_buffer(k32(1), 0) or b"") == bytes(4)
    raw = m.lookup_raw(k32(1))
    assert raw is not None and len(raw) == 3 * 8  # value_size 4 rounds up to 8 per CPU
    m.typed(key="u32", value="u32")
    assert m[1] == [0, 0, 7]
    m[1] = [1, 2, 3]
    assert m[1] == [1, 2, 3]
    m[2] = 9  # one value for every CPU
    assert m[2] == [9, 9, 9]
    buf = m.value_buffer(k32(1), 1)
    m.helper_update(k32(1), struct.pack("<I", 5), EXIST, cpu=1)
    assert m.value_buffer(k32(1), 1) is buf and m[1] == [1, 5, 3]


def test_percpu_array() -> None:
    m = create_map(mk(MapType.PERCPU_ARRAY, value=8, entries=2), ncpus=2)
    m.typed(key="u32", value="u64")
    assert m[0] == [0, 0] and m[1] == [0, 0]
    buf = m.value_buffer(k32(1), 1)
    assert buf is not None
    buf[:] = v64(77)
    assert m[1] == [0, 77]
    assert m.helper_update(k32(0), v64(4), ANY, cpu=0) == 0
    assert m[0] == [4, 0]
    m[0] = [10, 20]
    assert m[0] == [10, 20]
    assert m.value_buffer(k32(2), 0) is None
    assert m.helper_update(k32(2), v64(1), ANY) == -errno.E2BIG


# -- array -----------------------------------------------------------------

def test_array_semantics() -> None:
    m = create_map(mk(MapType.ARRAY, entries=3))
    assert m.lookup_raw(k32(2)) == bytes(8)  # every index exists, zeroed
    assert m.lookup_raw(k32(3)) is None
    assert m.value_buffer(k32(3)) is None
    assert m.helper_update(k32(3), v64(1), ANY) == -errno.E2BIG
    assert m.helper_update(k32(0), v64(1), NOEXIST) == -errno.EEXIST
    assert m.helper_update(k32(0), v64(1), EXIST) == 0
    assert m.helper_delete(k32(0)) == -errno.EINVAL
    with pytest.raises(MapOpError) as ei:
        m.delete_raw(k32(0))
    assert ei.value.errno == errno.EINVAL
    buf = m.value_buffer(k32(1))
    assert buf is not None
    buf[:] = v64(5)
    assert m.value_buffer(k32(1)) is buf
    assert list(m.keys_raw()) == [k32(0), k32(1), k32(2)]
    assert m.next_key_raw(k32(2)) is None
    assert m.next_key_raw(k32(100)) == k32(0)
    assert len(m) == 3
    m.typed(key="u32", value="u64")
    assert m.to_dict() == {0: 1, 1: 5, 2: 0}


def test_contents_and_freeze() -> None:
    spec = mk(MapType.ARRAY, value=4, entries=1, contents=[(k32(0), b"abcd")], freeze=True)
    m = create_map(spec)
    assert m.lookup_raw(k32(0)) == b"abcd"
    with pytest.raises(MapOpError) as ei:
        m.update_raw(k32(0), b"zzzz")
    assert ei.value.errno == errno.EPERM
    assert m.helper_update(k32(0), b"wxyz", ANY) == 0  # programs may still write
    assert m.lookup_raw(k32(0)) == b"wxyz"


# -- creation checks -------------------------------------------------------

@pytest.mark.parametrize("spec, words", [
    (MapSpec("bad_hash", MapType.HASH, 0, 8, 4), "key_size"),
    (MapSpec("bad_hash", MapType.HASH, 4, 0, 4), "value_size"),
    (MapSpec("bad_hash", MapType.HASH, 4, 8, 0), "max_entries"),
    (MapSpec("bad_arr", MapType.ARRAY, 8, 8, 4), "key_size must be 4"),
    (MapSpec("bad_q", MapType.QUEUE, 4, 8, 4), "key_size must be 0"),
    (MapSpec("bad_rb", MapType.RINGBUF, 0, 0, 5000), "power of 2"),
    (MapSpec("bad_lpm", MapType.LPM_TRIE, 4, 8, 4), "prefixlen"),
    (MapSpec("bad_pcpu", MapType.PERCPU_HASH, 4, 40000, 4), "value_size"),
    (MapSpec("bad_aom", MapType.ARRAY_OF_MAPS, 4, 4, 4), "inner"),
    (MapSpec("bad_bloom", MapType.BLOOM_FILTER, 0, 8, 4, map_extra=16), "map_extra"),
    (MapSpec("dev", MapType.DEVMAP, 4, 4, 4), "not supported"),
])
def test_creation_errors_name_the_map(spec: MapSpec, words: str) -> None:
    with pytest.raises(PybpfError) as ei:
        create_map(spec)
    msg = str(ei.value)
    assert repr(spec.name) in msg and words in msg and "\n" not in msg


# -- LPM trie --------------------------------------------------------------

def lpm_key(plen: int, *octets: int) -> bytes:
    return struct.pack("<I", plen) + bytes(octets)


def test_lpm_longest_prefix_match() -> None:
    m = create_map(mk(MapType.LPM_TRIE, key=8, value=4, entries=8))
    assert isinstance(m, LpmTrieMap)
    m.update_raw(lpm_key(8, 10, 0, 0, 0), b"/8__")
    m.update_raw(lpm_key(16, 10, 1, 0, 0), b"/16_")
    m.update_raw(lpm_key(24, 10, 1, 2, 0), b"/24_")
    m.update_raw(lpm_key(0, 0, 0, 0, 0), b"dflt")
    assert m.lookup_raw(lpm_key(32, 10, 1, 2, 3)) == b"/24_"
    assert m.lookup_raw(lpm_key(32, 10, 1, 9, 9)) == b"/16_"
    assert m.lookup_raw(lpm_key(32, 10, 200, 9, 9)) == b"/8__"
    assert m.lookup_raw(lpm_key(32, 11, 1, 2, 3)) == b"dflt"
    # the key's own prefix length caps the match
    assert m.lookup_raw(lpm_key(20, 10, 1, 2, 3)) == b"/16_"
    buf = m.value_buffer(lpm_key(32, 10, 1, 2, 200))
    assert buf is not None and bytes(buf) == b"/24_"
    # bits past the prefix length do not make a different entry
    assert m.helper_update(lpm_key(8, 10, 99, 99, 99), b"NEW8", NOEXIST) == -errno.EEXIST
    assert m.helper_update(lpm_key(8, 10, 99, 99, 99), b"NEW8", EXIST) == 0
    assert m.lookup_raw(lpm_key(32, 10, 7, 7, 7)) == b"NEW8"
    assert m.helper_update(lpm_key(33, 1, 2, 3, 4), b"xxxx", ANY) == -errno.EINVAL
    assert m.helper_delete(lpm_key(24, 10, 1, 3, 0)) == -errno.ENOENT
    assert m.helper_delete(lpm_key(24, 10, 1, 2, 0)) == 0
    assert m.lookup_raw(lpm_key(32, 10, 1, 2, 3)) == b"/16_"
    assert m.lookup_exact(lpm_key(16, 10, 1, 0, 0)) == b"/16_"
    assert m.lookup_exact(lpm_key(12, 10, 0, 0, 0)) is None
    assert len(m) == 3


def test_lpm_full_and_iteration_post_order() -> None:
    m = create_map(mk(MapType.LPM_TRIE, key=5, value=1, entries=4))
    keys = [lpm_key(1, 0x80), lpm_key(2, 0x80), lpm_key(2, 0x00), lpm_key(0, 0)]
    for i, k in enumerate(keys):
        assert m.helper_update(k, bytes([i]), ANY) == 0
    assert m.helper_update(lpm_key(3, 0x20), b"x", ANY) == -errno.ENOSPC
    # children before parents, the 0 branch before the 1 branch
    assert list(m.keys_raw()) == [lpm_key(2, 0x00), lpm_key(2, 0x80), lpm_key(1, 0x80),
                                  lpm_key(0, 0)]


# -- queue / stack / bloom -------------------------------------------------

def test_queue_fifo_and_full() -> None:
    q = create_map(mk(MapType.QUEUE, key=0, value=4, entries=2))
    assert isinstance(q, QueueMap)
    assert q.helper_pop() is None and q.helper_peek() is None
    assert q.helper_push(b"aaaa", ANY) == 0
    assert q.helper_push(b"bbbb", ANY) == 0
    assert q.helper_push(b"cccc", ANY) == -errno.E2BIG
    assert q.helper_push(b"cccc", NOEXIST) == -errno.EINVAL
    assert q.helper_push(b"cccc", EXIST) == 0  # overwrites the oldest
    assert q.helper_peek() == b"bbbb" and len(q) == 2
    assert [q.helper_pop(), q.helper_pop(), q.helper_pop()] == [b"bbbb", b"cccc", None]
    q.update_raw(b"", b"dddd")  # BPF_MAP_UPDATE_ELEM pushes
    assert q.lookup_raw(b"") == b"dddd"
    assert q.lookup_and_delete_raw(b"") == b"dddd" and len(q) == 0


def test_stack_lifo() -> None:
    s = create_map(mk(MapType.STACK, key=0, value=2, entries=3))
    for v in (b"a1", b"b2", b"c3"):
        assert s.helper_push(v, ANY) == 0  # type: ignore[attr-defined]
    assert list(s.values()) == [b"c3", b"b2", b"a1"]
    assert s.helper_push(b"d4", EXIST) == 0  # type: ignore[attr-defined]  # drops the oldest (a1)
    assert [s.helper_pop() for _ in range(4)] == [b"d4", b"c3", b"b2", None]  # type: ignore[attr-defined]


def test_bloom_no_false_negatives() -> None:
    b = create_map(mk(MapType.BLOOM_FILTER, key=0, value=8, entries=100, map_extra=3))
    assert isinstance(b, BloomFilterMap) and b.nr_hashes == 3
    assert b.helper_push(v64(1), EXIST) == -errno.EINVAL
    present = [v64(i * 7919) for i in range(100)]
    for v in present:
        assert b.helper_push(v, ANY) == 0
    assert all(b.contains(v) for v in present)
    assert b.contains_value(present[0])  # type: ignore[attr-defined]
    assert all(b.helper_peek(v) == v for v in present)
    absent = [v64(10**9 + i) for i in range(1000)]
    false_pos = sum(b.contains(v) for v in absent)
    assert false_pos < 100  # sized for ~1/2^3 at worst; in practice far fewer
    empty = create_map(mk(MapType.BLOOM_FILTER, key=0, value=8, entries=10))
    assert empty.nr_hashes == 5 and empty.helper_peek(v64(1)) is None  # type: ignore[attr-defined]


# -- ring buffer -----------------------------------------------------------

def test_ringbuf_order_discard_and_busy() -> None:
    rb = create_map(MapSpec("events", MapType.RINGBUF, 0, 0, 4096))
    assert isinstance(rb, RingBufMap)
    a = rb.reserve(5)
    b = rb.reserve(3)
    assert a is not None and b is not None and len(a) == 5
    a[:] = b"first"
    b[:] = b"two"
    rb.submit(b)
    assert rb.consume() == []  # a is still reserved: it holds back b
    assert rb.query(0) == 32  # two records of 8-byte header + data rounded to 8
    rb.submit(a)
    assert rb.output(b"third") == 0
    c = rb.reserve(4)
    assert c is not None
    rb.discard(c)
    assert rb.consume() == [b"first", b"two", b"third"]
    assert rb.query(2) == rb.query(3) == 16 + 16 + 16 + 16  # cons == prod
    assert rb.query(0) == 0 and rb.query(1) == 4096
    with pytest.raises(ValueError):
        rb.submit(c)  # already discarded


def test_ringbuf_full_counts_drops() -> None:
    rb = create_map(MapSpec("events", MapType.RINGBUF, 0, 0, 4096))
    assert isinstance(rb, RingBufMap)
    assert rb.reserve(4096) is None  # header does not fit
    big = rb.reserve(4096 - 8)
    assert big is not None
    assert rb.output(b"x") == -errno.EAGAIN
    assert rb.dropped == 2
    rb.submit(big)
    assert len(rb.consume()) == 1
    assert rb.output(b"x", flags=4) == -errno.EINVAL
    assert rb.output(b"x") == 0
    woke: list[int] = []
    rb.on_wakeup = lambda: woke.append(1)
    rb.output(b"y", flags=1)  # BPF_RB_NO_WAKEUP
    rb.output(b"z")
    assert woke == [1] and rb.consume() == [b"x", b"y", b"z"]


# -- perf event array, prog array, maps of maps -----------------------------

def test_perf_event_array() -> None:
    pe = create_map(MapSpec("perf", MapType.PERF_EVENT_ARRAY, 4, 4, 0), ncpus=2)
    assert isinstance(pe, PerfEventArrayMap) and pe.max_entries == 2
    assert pe.output(1, b"one") == 0
    assert pe.output(0, b"zero") == 0
    assert pe.output(2, b"bad") == -errno.E2BIG
    assert pe.consume() == [(1, b"one"), (0, b"zero")]
    assert pe.consume() == []
    pe.capacity = 4
    assert pe.output(0, b"1234") == 0
    assert pe.output(0, b"5") == -errno.ENOSPC and pe.lost == 1
    assert pe.output(1, b"5") == 0


def test_prog_array() -> None:
    pa = create_map(MapSpec("jmp", MapType.PROG_ARRAY, 4, 4, 4))
    assert isinstance(pa, ProgArrayMap)
    prog = object()
    pa.set_program(2, prog)
    assert pa.program_at(2) is prog and pa.program_at(1) is None
    with pytest.raises(MapOpError):
        pa.set_program(4, prog)
    assert pa.helper_delete(k32(2)) == 0 and pa.program_at(2) is None
    assert pa.helper_delete(k32(2)) == -errno.ENOENT
    with pytest.raises(MapError):
        pa.update_raw(k32(0), k32(1))


def test_array_of_maps() -> None:
    inner_t = MapSpec("inner", MapType.HASH, 4, 8, 16)
    outer = create_map(MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner=inner_t))
    assert isinstance(outer, ArrayOfMapsMap)
    inner = outer.create_inner("i0")
    outer.set_map(0, inner)
    assert outer.inner_map(k32(0)) is inner and outer.inner_map(1) is None
    assert outer.lookup_raw(k32(0)) == k32(inner.id)
    assert map_by_id(inner.id) is inner
    wrong = create_map(MapSpec("wrong", MapType.HASH, 4, 8, 32))
    with pytest.raises(MapError, match="max_entries 32 != 16"):
        outer.set_map(1, wrong)
    other = create_map(MapSpec("other", MapType.HASH, 4, 8, 16))
    outer.update_raw(k32(1), k32(other.id))  # user space passes the id as the "fd"
    assert outer.inner_map(k32(1)) is other
    assert outer.helper_update(k32(1), k32(999999), ANY) == -errno.EBADF
    assert outer.delete_raw(k32(1)) is True and outer.inner_map(k32(1)) is None


def test_hash_of_maps_flags_and_inner_map_flag() -> None:
    inner_t = MapSpec("inner", MapType.ARRAY, 4, 4, 1, flags=1 << 12)  # BPF_F_INNER_MAP
    hom = create_map(MapSpec("hom", MapType.HASH_OF_MAPS, 8, 4, 1, inner=inner_t))
    assert isinstance(hom, HashOfMapsMap)
    a = create_map(MapSpec("a", MapType.ARRAY, 4, 4, 10, flags=1 << 12))  # size may differ
    hom.set_map(v64(1), a)
    assert hom.inner_map(v64(1)) is a
    with pytest.raises(MapOpError) as ei:
        hom.set_map(v64(2), a)
    assert ei.value.errno == errno.E2BIG
    with pytest.raises(MapOpError) as ei:
        hom.set_map(v64(1), a, NOEXIST)
    assert ei.value.errno == errno.EEXIST
    assert list(hom.keys_raw()) == [v64(1)]
    assert hom.helper_delete(v64(1)) == 0 and len(hom) == 0
    with pytest.raises(MapError, match="type hash != array"):
        hom.set_map(v64(3), create_map(MapSpec("h", MapType.HASH, 4, 4, 1)))


# -- end to end: programs in the vm use these maps through the helpers -------------

def _program(text: str, maps: dict[str, object]):  # type: ignore[no-untyped-def]
    from pybpf.asm.assembler import assemble_program
    from pybpf.spec import ProgramSpec
    from pybpf.uapi import ProgType
    from pybpf.vm import VmProgram

    asm = assemble_program(text, "test.s")
    spec = ProgramSpec("t", ProgType.UNSPEC, asm.insns, map_refs=asm.map_refs)
    return VmProgram(spec, maps)  # type: ignore[arg-type]


COUNT_PROGRAM = """
    stw [%r10-4], 7
    mov %r6, 5
    lddw %r1, map_fd(counts)
    mov %r2, %r10
    add %r2, -4
    call bpf_map_lookup_elem
    jeq %r0, 0, insert
    lock add [%r0+0], %r6
    mov %r0, 1
    exit
insert:
    stdw [%r10-16], 100
    lddw %r1, map_fd(counts)
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 1
    call bpf_map_update_elem
    exit
"""


def test_program_counts_through_a_live_value() -> None:
    counts = create_map(MapSpec("counts", MapType.HASH, 4, 8, 4))
    prog = _program(COUNT_PROGRAM, {"counts": counts})
    assert prog.run() == 0  # inserted with BPF_NOEXIST
    assert prog.run() == 1 and prog.run() == 1  # two atomic adds into the live buffer
    counts.typed(key="u32", value="u64")
    assert counts.to_dict() == {7: 110}


def test_program_update_errno_when_full() -> None:
    counts = create_map(MapSpec("counts", MapType.HASH, 4, 8, 1))
    counts.update_raw(k32(1), v64(0))
    prog = _program(COUNT_PROGRAM, {"counts": counts})
    assert prog.run() & 0xFFFFFFFFFFFFFFFF == (-errno.E2BIG) & 0xFFFFFFFFFFFFFFFF


def test_program_percpu_value_of_its_cpu() -> None:
    pc = create_map(MapSpec("pc", MapType.PERCPU_ARRAY, 4, 8, 1), ncpus=4)
    text = """
        stw [%r10-4], 0
        lddw %r1, map_fd(pc)
        mov %r2, %r10
        add %r2, -4
        call bpf_map_lookup_elem
        jeq %r0, 0, out
        stdw [%r0+0], 42
    out:
        mov %r0, 0
        exit
    """
    prog = _program(text, {"pc": pc})
    prog.cpu = 2
    prog.run()
    pc.typed(key="u32", value="u64")
    assert pc[0] == [0, 0, 42, 0]


def test_program_ringbuf_and_queue() -> None:
    rb = create_map(MapSpec("rb", MapType.RINGBUF, 0, 0, 4096))
    q = create_map(MapSpec("q", MapType.QUEUE, 0, 8, 4))
    text = """
        stdw [%r10-8], 0x1234
        lddw %r1, map_fd(rb)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 8
        mov %r4, 0
        call bpf_ringbuf_output
        lddw %r1, map_fd(q)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call bpf_map_push_elem
        lddw %r1, map_fd(rb)
        mov %r2, 0
        call bpf_ringbuf_query
        exit
    """
    prog = _program(text, {"rb": rb, "q": q})
    assert prog.run() == 16  # AVAIL_DATA: one 8-byte record + 8-byte header
    assert rb.consume() == [v64(0x1234)]  # type: ignore[attr-defined]
    assert q.helper_pop() == v64(0x1234)  # type: ignore[attr-defined]


# -- differential: the same operations on a kernel map and a vm map -------------------

def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    """(result, 0) or (None, errno) for one user-space operation."""
    try:
        return fn(*args), 0
    except Exception as e:  # MapOpError (vm) or BpfError (kernel): compare the errno
        return None, getattr(e, "errno", -1)


def _script(m, ops):  # type: ignore[no-untyped-def]
    out = []
    for op, *args in ops:
        if op == "update":
            out.append(_outcome(m.update_raw, *args))
        elif op == "delete":
            out.append(_outcome(m.delete_raw, *args))
        elif op == "lookup":
            out.append(_outcome(m.lookup_raw, *args))
        elif op == "next":
            out.append(_outcome(m.next_key_raw, *args))
        elif op == "pop":
            out.append(_outcome(m.lookup_and_delete_raw, None))
        elif op == "peek":
            out.append(_outcome(m.lookup_raw, b""))
        elif op == "keys":
            out.append((sorted(m.keys_raw()), 0))
    return out


def _lpm(plen: int, a: int, b: int = 0, c: int = 0, d: int = 0) -> bytes:
    return struct.pack("<I", plen) + bytes([a, b, c, d])


DIFF_CASES = {
    "hash": (MapSpec("d_hash", MapType.HASH, 4, 8, 2), [
        ("update", k32(1), v64(1), ANY), ("update", k32(1), v64(2), NOEXIST),
        ("update", k32(2), v64(2), EXIST), ("update", k32(2), v64(2), ANY),
        ("update", k32(3), v64(3), ANY), ("update", k32(1), v64(9), 3),
        ("delete", k32(3)), ("lookup", k32(1)), ("lookup", k32(3)), ("delete", k32(1)),
        ("update", k32(3), v64(3), ANY), ("keys",),
    ]),
    "array": (MapSpec("d_array", MapType.ARRAY, 4, 8, 3), [
        ("update", k32(3), v64(1), ANY), ("update", k32(0), v64(1), NOEXIST),
        ("update", k32(0), v64(5), EXIST), ("delete", k32(0)), ("lookup", k32(0)),
        ("lookup", k32(2)), ("lookup", k32(5)), ("next", None), ("next", k32(2)),
        ("next", k32(10)), ("next", k32(1)),
    ]),
    "lpm": (MapSpec("d_lpm", MapType.LPM_TRIE, 8, 4, 3, flags=1), [
        ("update", _lpm(8, 10), b"/8__", ANY), ("update", _lpm(16, 10, 1), b"/16_", ANY),
        ("lookup", _lpm(32, 10, 1, 2, 3)), ("lookup", _lpm(32, 10, 2, 2, 3)),
        ("lookup", _lpm(32, 11, 1, 2, 3)), ("lookup", _lpm(12, 10, 1, 2, 3)),
        ("update", _lpm(8, 10, 99), b"xxxx", NOEXIST), ("update", _lpm(24, 1, 2, 3), b"a", EXIST),
        ("update", _lpm(33, 1), b"zzzz", ANY), ("update", _lpm(0, 0), b"dflt", ANY),
        ("update", _lpm(24, 1, 2, 3), b"full", ANY), ("delete", _lpm(24, 1, 2, 3)),
        ("delete", _lpm(16, 10, 1)), ("lookup", _lpm(32, 10, 1, 2, 3)),
    ]),
    "queue": (MapSpec("d_queue", MapType.QUEUE, 0, 4, 2), [
        ("update", b"", b"aaaa", ANY), ("update", b"", b"bbbb", ANY),
        ("update", b"", b"cccc", ANY), ("update", b"", b"cccc", NOEXIST),
        ("update", b"", b"dddd", EXIST), ("peek",), ("pop",), ("pop",), ("pop",),
    ]),
    "stack": (MapSpec("d_stack", MapType.STACK, 0, 4, 2), [
        ("update", b"", b"aaaa", ANY), ("update", b"", b"bbbb", ANY),
        ("update", b"", b"cccc", ANY), ("update", b"", b"dddd", EXIST), ("peek",),
        ("pop",), ("pop",), ("pop",),
    ]),
}


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(DIFF_CASES))
def test_vm_map_agrees_with_kernel(name: str) -> None:
    from pybpf.kernel.maps import KernelMap

    spec, ops = DIFF_CASES[name]
    vm_map = create_map(spec.copy())
    with KernelMap.create(spec.copy()) as kmap:
        assert _script(vm_map, ops) == _script(kmap, ops)


@pytest.mark.kernel
def test_vm_percpu_array_layout_agrees_with_kernel() -> None:
    from pybpf.kernel.maps import KernelMap, possible_cpus

    n = possible_cpus()
    spec = MapSpec("d_pcpu", MapType.PERCPU_ARRAY, 4, 4, 2)
    vm_map = create_map(spec.copy(), ncpus=n)
    with KernelMap.create(spec.copy()) as kmap:
        for m in (vm_map, kmap):
            m.typed(key="u32", value="u32")
            m[1] = list(range(10, 10 + n))
        assert vm_map.lookup_raw(k32(1)) == kmap.lookup_raw(k32(1))
        assert vm_map.lookup_raw(k32(0)) == kmap.lookup_raw(k32(0))
