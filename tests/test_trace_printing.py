"""The fast printf path (``pybpf.lang.printing``) against the reference formatter, and the
runtime's small pieces that need no kernel (lost-event reports, probe listing, links)."""

from __future__ import annotations

import io
import struct

import pytest

from pybpf.lang import output as O
from pybpf.lang import types as T
from pybpf.lang.printing import compile_printf

I64, U64T, S16 = T.INT64, T.Type("int", 8, False), T.string(16)


def record(*vals: tuple[T.Type, object]) -> bytes:
    out = bytearray(struct.pack("<QQ", 1, 0))
    for t, v in vals:
        if t.kind == "string":
            raw = str(v).encode()[: t.size]
            out += raw + bytes(t.size - len(raw))
        else:
            out += struct.pack("<q" if t.signed else "<Q", v)
    return bytes(out)


CASES = [
    ("%d %s\n", [(I64, -5), (S16, "abc")], "-5 abc\n"),
    ("%5d|%-4s|%x|%X|%o|%c|%u\n", [(I64, 42), (S16, "ab"), (I64, 255), (I64, 255), (I64, 8),
                                    (I64, 65), (I64, -1)],
     f"   42|ab  |ff|FF|10|A|{(1 << 64) - 1}\n"),
    ("100%% done %d\n", [(I64, 7)], "100% done 7\n"),
    ("%lu %llx %hd\n", [(U64T, 3), (U64T, 17), (I64, 2)], "3 11 2\n"),
    ("no args\n", [], "no args\n"),
]


@pytest.mark.parametrize("fmt,vals,expected", CASES)
def test_compiled_printf_matches_reference(fmt: str, vals: list[tuple[T.Type, object]],
                                           expected: str) -> None:
    fn = compile_printf(fmt, [t for t, _ in vals])
    assert fn is not None
    rec = record(*vals)
    assert fn(rec) == expected
    args = [v for _, v in vals]
    assert O.format_printf(fmt, args) == expected


def test_compat_017_keeps_double_percent() -> None:
    fn = compile_printf("50%% of %d\n", [I64], "0.17")
    assert fn is not None
    assert fn(record((I64, 4))) == "50%% of 4\n"


def test_uncovered_formats_fall_back() -> None:
    assert compile_printf("%d\n", [S16]) is None  # a string printed as an integer
    assert compile_printf("%s %s\n", [S16]) is None  # fewer arguments than conversions
    assert compile_printf("%f\n", [I64]) is None
    assert compile_printf("%s\n", [T.Type("tuple", 16, False, (I64, I64))]) is None


def test_lost_events_reported_once_per_increase() -> None:
    from pybpf.lang.session import KernelSession

    class FakeMap:
        value_stride = 8

        def __init__(self) -> None:
            self.counts = [0, 0]

        def lookup_raw(self, key: bytes) -> bytes:
            return struct.pack("<2Q", *self.counts)

    sess = KernelSession.__new__(KernelSession)
    sess.out, sess.fmt, sess.lost = io.StringIO(), "text", 0
    lost = FakeMap()
    sess._lost_map = lost
    sess._report_lost()
    assert sess.out.getvalue() == ""
    lost.counts = [3, 4]
    sess._report_lost()
    sess._report_lost()
    lost.counts = [5, 4]
    sess._report_lost()
    assert sess.out.getvalue() == "Lost 7 events\nLost 2 events\n"
    sess.out, sess.fmt = io.StringIO(), "json"
    lost.counts = [6, 4]
    sess._report_lost()
    assert sess.out.getvalue() == '{"type": "lost_events", "data": {"events": 1}}\n'


def test_link_fds_split_and_taken() -> None:
    from pybpf.kernel.links.base import Link, MultiLink
    from pybpf.kernel.teardown import take_link_fds

    a = Link("a", [101], link_fd=100)
    b = Link("b", [201])
    multi = MultiLink("m", [Link("c", [301], link_fd=300), Link("d", [401])])
    first, rest = take_link_fds([a, b, multi])
    assert sorted(first) == [100, 300]
    assert sorted(rest) == [101, 201, 301, 401]
    assert a.closed and b.closed and multi.closed
    assert a.take_fds() == []  # ownership moved: the links will not close them again


def test_ring_size_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from pybpf.lang.session import RING_SIZE_DEFAULT, _ring_size_default

    monkeypatch.delenv("PYBPF_TRACE_RINGBUF", raising=False)
    assert _ring_size_default() == RING_SIZE_DEFAULT
    monkeypatch.setenv("PYBPF_TRACE_RINGBUF", "5000000")
    assert _ring_size_default() == 1 << 23  # rounded up to a power of two
    monkeypatch.setenv("PYBPF_TRACE_RINGBUF", "100")
    assert _ring_size_default() == 4096  # at least a page
