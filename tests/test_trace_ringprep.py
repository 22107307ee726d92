"""The ring buffer made while a script compiles is the one the session uses; a script
without probes leaves it unused and closed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


def _session(script: str, size: int) -> tuple[object, object]:
    from pybpf.lang.codegen import RINGBUF
    from pybpf.lang.expand import compile_for_kernel
    from pybpf.lang.ringprep import RingPrep
    from pybpf.lang.session import KernelSession

    prep = RingPrep(RINGBUF, size)
    prep._thread.join()  # type: ignore[attr-defined]  # (the session would wait too)
    sess = KernelSession(compile_for_kernel(script), ring_size=size, ring_prep=prep, quiet=True)
    return sess, prep


def test_session_takes_the_prepared_ring() -> None:
    from pybpf.lang.codegen import RINGBUF

    sess, prep = _session("tracepoint:syscalls:sys_enter_getppid { printf(\"x\\n\"); }", 1 << 20)
    made = prep._map  # type: ignore[attr-defined]
    try:
        sess.load()  # type: ignore[attr-defined]
        ring = sess.coll.maps[RINGBUF]  # type: ignore[attr-defined]
        assert made is not None and ring is made and ring.max_entries == 1 << 20
    finally:
        sess.close()  # type: ignore[attr-defined]
    assert made.closed  # type: ignore[attr-defined]


def test_unused_ring_is_closed() -> None:
    from pybpf.lang.codegen import RINGBUF

    sess, prep = _session("BEGIN { printf(\"x\\n\"); exit(); }", 1 << 22)
    made = prep._map  # type: ignore[attr-defined]
    assert made is not None
    try:
        sess.load()  # type: ignore[attr-defined]
        # BEGIN/END only: the compiler's 1 MiB ring, not the prepared 4 MiB one
        assert sess.coll.maps[RINGBUF] is not made  # type: ignore[attr-defined]
    finally:
        sess.close()  # type: ignore[attr-defined]
    assert made.closed
