"""Kernel maps: every common type is created, filled, read back, batched, pinned, reopened."""

from __future__ import annotations

import os
import socket
import struct

import pytest

from pybpf.mapapi import EXIST, NOEXIST, MapError
from pybpf.spec import MapSpec
from pybpf.uapi import MapType

pytestmark = pytest.mark.kernel


@pytest.fixture
def kmod():  # type: ignore[no-untyped-def]
    from pybpf import kernel

    return kernel


def _spec(t: MapType, k: int = 4, v: int = 8, n: int = 16, **kw) -> MapSpec:  # type: ignore[no-untyped-def]
    return MapSpec(f"t_{t.name.lower()[:12]}", t, k, v, n, **kw)


@pytest.mark.parametrize("t", [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY])
def test_plain_maps_fill_and_read(kmod, t: MapType) -> None:
    with kmod.KernelMap.create(_spec(t, n=64)) as m:
        m.typed("u32", "u64")
        for i in range(40):
            m[i] = i * i + 7
        assert m[5] == 32
        assert m.lookup(39) == 39 * 39 + 7
        got = dict(m.items())
        expect = {i: i * i + 7 for i in range(40)}
        if t == MapType.ARRAY:
            expect.update({i: 0 for i in range(40, 64)})
        assert got == expect
        assert sorted(m.keys()) == sorted(expect)


def test_hash_update_flags_and_delete(kmod) -> None:
    from pybpf.kernel import BpfError

    with kmod.KernelMap.create(_spec(MapType.HASH, n=4)).typed("u32", "u64") as m:
        m.update(1, 10, NOEXIST)
        with pytest.raises(BpfError, match="exists already"):
            m.update(1, 11, NOEXIST)
        with pytest.raises(BpfError, match="no such|No such"):
            m.update(2, 20, EXIST)
        m.update(1, 12, EXIST)
        assert m[1] == 12
        for i in range(2, 5):
            m[i] = i
        with pytest.raises(BpfError, match="full"):
            m[99] = 1
        assert m.delete(1) is True
        assert m.delete(1) is False
        assert 1 not in m and 2 in m
        assert len(m) == 3
        with pytest.raises(KeyError):
            m[1]
        with pytest.raises(MapError, match="key is 3 bytes"):
            m.lookup_raw(b"abc")


@pytest.mark.parametrize("t", [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY,
                               MapType.LRU_PERCPU_HASH])
def test_percpu_maps(kmod, t: MapType) -> None:
    with kmod.KernelMap.create(_spec(t, v=4, n=8)).typed("u32", "u32") as m:
        n = kmod.possible_cpus()
        assert m.ncpus == n >= 1
        vals = [100 + c for c in range(n)]
        m[3] = vals
        assert m[3] == vals
        assert len(m.lookup_raw(struct.pack("<I", 3)) or b"") == 8 * n  # 8-byte stride
        m[4] = 9  # same on every CPU
        assert m[4] == [9] * n
        d = dict(m.items())
        assert d[3] == vals and d[4] == [9] * n


def test_lpm_trie(kmod) -> None:
    # key: u32 prefixlen + 4 bytes of IPv4 address; NO_PREALLOC is added automatically
    with kmod.KernelMap.create(_spec(MapType.LPM_TRIE, k=8, v=4, n=16)) as m:
        m.typed(None, "u32")
        assert m.flags & 1

        def key(plen: int, ip: str) -> bytes:
            return struct.pack("<I", plen) + socket.inet_aton(ip)

        m[key(8, "10.0.0.0")] = 1
        m[key(16, "10.1.0.0")] = 2
        m[key(24, "10.1.2.0")] = 3
        assert m[key(32, "10.1.2.3")] == 3
        assert m[key(32, "10.1.9.9")] == 2
        assert m[key(32, "10.200.0.1")] == 1
        assert m.lookup(key(32, "11.0.0.1")) is None
        assert len(list(m.keys())) == 3


@pytest.mark.parametrize("t,order", [(MapType.QUEUE, [1, 2, 3]), (MapType.STACK, [3, 2, 1])])
def test_queue_stack(kmod, t: MapType, order: list[int]) -> None:
    with kmod.KernelMap.create(_spec(t, k=0, v=4, n=3)).typed(None, "u32") as m:
        for v in (1, 2, 3):
            m.push(v)
        from pybpf.kernel import BpfError

        with pytest.raises(BpfError):
            m.push(4)  # full
        assert m.peek() == order[0]
        assert [m.pop() for _ in range(3)] == order
        assert m.pop() is None and m.peek("empty") == "empty"
        if t == MapType.QUEUE:
            for v in (1, 2, 3):
                m.push(v)
            m.push(4, EXIST)  # overwrite the oldest
            assert [m.pop() for _ in range(3)] == [2, 3, 4]


def test_bloom_filter(kmod) -> None:
    spec = _spec(MapType.BLOOM_FILTER, k=0, v=4, n=100)
    spec.map_extra = 3  # hash functions
    with kmod.KernelMap.create(spec).typed(None, "u32") as m:
        for v in range(0, 200, 2):
            m.push(v)
        assert all(m.contains_value(v) for v in range(0, 200, 2))
        false_pos = sum(m.contains_value(v) for v in range(1, 2001, 2))
        assert false_pos < 200  # a bloom filter, not a set: most odd values are absent


def test_ringbuf_perf_stack_trace_create(kmod) -> None:
    from pybpf.kernel import BpfError
    from pybpf.kernel.info import map_by_id

    rb = kmod.KernelMap.create(MapSpec("rb", MapType.RINGBUF, 0, 0, 4096 * 4))
    pa = kmod.KernelMap.create(MapSpec("pa", MapType.PERF_EVENT_ARRAY, 0, 0, 0))
    st = kmod.KernelMap.create(MapSpec("st", MapType.STACK_TRACE, 4, 8 * 127, 64))
    try:
        assert (map_by_id(rb.id).type, map_by_id(rb.id).max_entries) == (MapType.RINGBUF, 16384)
        assert map_by_id(pa.id).max_entries == kmod.possible_cpus()
        assert map_by_id(st.id).value_size == 8 * 127
        assert list(st.keys()) == []
        with pytest.raises(BpfError):
            rb.lookup_raw(b"")
    finally:
        for m in (rb, pa, st):
            m.close()


def test_fd_value_maps(kmod) -> None:
    """Array/hash of maps take inner map fds; lookup gives the inner map's id back."""
    from pybpf.uapi import ProgType

    inner_spec = MapSpec("inner", MapType.ARRAY, 4, 4, 2)
    outer = kmod.KernelMap.create(MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 4,
                                          inner=inner_spec))
    houter = kmod.KernelMap.create(MapSpec("houter", MapType.HASH_OF_MAPS, 4, 4, 4,
                                           inner=inner_spec))
    inner = kmod.KernelMap.create(inner_spec)
    pa = kmod.KernelMap.create(MapSpec("progs", MapType.PROG_ARRAY, 4, 4, 4))
    from pybpf.asm.insn import Insn
    from pybpf.spec import ProgramSpec

    prog = kmod.load_program(ProgramSpec("tail", ProgType.SOCKET_FILTER,
                                         [Insn(0xB7, 0, 0, 0, 0), Insn(0x95)]))
    try:
        outer.typed("u32", "u32")
        houter.typed("u32", "u32")
        outer[1] = inner
        houter[7] = inner
        assert outer[1] == inner.id
        assert houter[7] == inner.id
        pa.typed("u32", "u32")
        pa[2] = prog
        assert pa[2] == prog.id
    finally:
        for o in (outer, houter, inner, pa, prog):
            o.close()


@pytest.mark.parametrize("t,v", [(MapType.CGROUP_ARRAY, 4), (MapType.DEVMAP, 4),
                                 (MapType.DEVMAP_HASH, 4), (MapType.CPUMAP, 4),
                                 (MapType.SOCKMAP, 4), (MapType.SOCKHASH, 4),
                                 (MapType.XSKMAP, 4)])
def test_special_types_create(kmod, t: MapType, v: int) -> None:
    from pybpf.kernel.info import map_by_id

    with kmod.KernelMap.create(_spec(t, v=v, n=4)) as m:
        d = map_by_id(m.id)
        assert (d.type, d.key_size, d.value_size, d.max_entries) == (t, 4, v, 4)


def test_cgroup_array_and_devmap_values(kmod) -> None:
    with open("/proc/mounts") as f:
        cg2 = [ln.split()[1] for ln in f if ln.split()[2] == "cgroup2"]
    if not cg2:
        pytest.skip("no cgroup2 mount for a cgroup array value")
    with kmod.KernelMap.create(_spec(MapType.CGROUP_ARRAY, v=4, n=2)).typed("u32") as m:
        fd = os.open(cg2[0], os.O_RDONLY)
        try:
            m.update(0, fd)
        finally:
            os.close(fd)
    with kmod.KernelMap.create(_spec(MapType.DEVMAP, v=4, n=2)).typed("u32", "u32") as m:
        m[0] = socket.if_nametoindex("lo")
        assert m[0] == socket.if_nametoindex("lo")


def test_batch_ops(kmod) -> None:
    n = 5000
    with kmod.KernelMap.create(_spec(MapType.HASH, k=4, v=8, n=n)).typed("u32", "u64") as m:
        assert m.update_batch({i: i * 3 for i in range(n)}) == n
        chunks = list(m.lookup_batch_raw(chunk=1000))
        assert len(chunks) >= 5 and sum(c for _, _, c in chunks) == n
        assert dict(m.items()) == {i: i * 3 for i in range(n)}
        assert len(m) == n
        assert m.delete_batch(range(100)) == 100
        assert len(m) == n - 100 and 50 not in m and 100 in m
        drained = dict(m.drain())
        assert drained == {i: i * 3 for i in range(100, n)}
        assert len(m) == 0
    with kmod.KernelMap.create(_spec(MapType.PERCPU_ARRAY, v=4, n=300)).typed("u32", "u32") as m:
        ncpu = kmod.possible_cpus()
        m.update_batch([(i, [i + c for c in range(ncpu)]) for i in range(300)])
        got = dict(m.items())
        assert got[299] == [299 + c for c in range(ncpu)] and len(got) == 300


def test_freeze(kmod) -> None:
    from pybpf.kernel import BpfError

    spec = _spec(MapType.ARRAY, v=4, n=2, contents=[(b"\1\0\0\0", b"\x2a\0\0\0")], freeze=True)
    with kmod.load_map(spec).typed("u32", "u32") as m:
        assert m[1] == 42
        with pytest.raises(BpfError, match="frozen"):
            m[0] = 1


def test_pin_and_reopen(kmod, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pybpf.kernel.pin import BPFFS, ensure_bpffs, unpin

    ensure_bpffs()
    path = f"{BPFFS}/pybpf_test_{os.getpid()}"
    m = kmod.KernelMap.create(_spec(MapType.HASH, n=8)).typed("u32", "u64")
    try:
        m[5] = 55
        m.pin(path)
        mid = m.id
        m.close()
        with kmod.KernelMap.open_pinned(path).typed("u32", "u64") as again:
            assert again.id == mid and again[5] == 55 and again.name == "t_hash"
    finally:
        m.close()
        if os.path.exists(path):
            unpin(path)
    from pybpf.errors import PybpfError

    with pytest.raises(PybpfError, match="not on a bpf filesystem"):
        kmod.KernelMap.create(_spec(MapType.HASH, n=8)).pin(str(tmp_path / "x"))


def test_closed_map_and_bad_create(kmod) -> None:
    from pybpf.kernel import BpfError

    m = kmod.KernelMap.create(_spec(MapType.HASH))
    m.close()
    with pytest.raises(MapError, match="closed"):
        m.lookup_raw(b"\0\0\0\0")
    with pytest.raises(BpfError, match=r"creating map 't_hash' \(hash\): key_size must be > 0"):
        kmod.KernelMap.create(_spec(MapType.HASH, k=0))
    with pytest.raises(BpfError, match=r"max_entries must be a power-of-2 multiple of the page"):
        kmod.KernelMap.create(MapSpec("rb", MapType.RINGBUF, 0, 0, 1000))
    with pytest.raises(BpfError, match=r"key_size must be 0 for queue maps, got 4"):
        kmod.KernelMap.create(_spec(MapType.QUEUE, k=4))
    with pytest.raises(BpfError, match=r"key_size must be 4 \(a u32 index\) for array maps"):
        kmod.KernelMap.create(_spec(MapType.ARRAY, k=8))
    with pytest.raises(BpfError, match=r"invalid argument: check map type"):
        kmod.KernelMap.create(_spec(MapType.HASH, flags=1 << 30))  # no rule explains it


@pytest.mark.parametrize("t", [MapType.SOCKMAP, MapType.SOCKHASH])
def test_sockmap_holds_sockets(kmod, t: MapType) -> None:
    """A sockmap value is written as a socket fd and reads back as the socket's cookie."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    acc, _ = srv.accept()
    try:
        with kmod.KernelMap.create(_spec(t, v=8, n=4)).typed("u32", "u64") as m:
            m.update(1, cli.fileno())
            m.update(2, acc.fileno())
            so_cookie = 57  # SO_COOKIE
            assert m[1] == struct.unpack("<Q", cli.getsockopt(socket.SOL_SOCKET, so_cookie, 8))[0]
            assert m[2] == struct.unpack("<Q", acc.getsockopt(socket.SOL_SOCKET, so_cookie, 8))[0]
            assert m.delete(1) and 1 not in m
    finally:
        for s in (cli, acc, srv):
            s.close()
