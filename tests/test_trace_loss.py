"""Lost events, full maps, cpid and no-match errors of `pybpf trace`.

Loss is made certain with a ring buffer far smaller than what the programs write,
and checked exactly: every attempted record is either printed or counted lost.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from pybpf.lang.codegen import LOST, MAPFULL, RINGBUF, compile_script
from pybpf.lang.errors import CompileError
from pybpf.lang.runtime import run_vm

TINY_RING = 4096  # one page: the smallest ring buffer the kernel accepts


def _lost(text: str) -> int:
    return sum(int(n) for n in re.findall(r"^Lost (\d+) events$", text, re.M))


def _shrink_ring(script: Any) -> None:
    script.spec.maps[RINGBUF].max_entries = TINY_RING


def _fits(script: Any, fid: int = 0) -> int:
    """How many records of printf ``fid`` an empty tiny ring holds: each takes an 8-byte
    header plus [event, format id, args], rounded up to 8 bytes."""
    from pybpf.lang import types as T

    size = 16 + sum(T.storage_size(t) for t in script.formats[fid].args)
    return TINY_RING // ((8 + size + 7) & ~7)


@pytest.mark.kernel
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_begin_burst_into_tiny_ring_counts_every_lost_record(fmt: str) -> None:
    """BEGIN writes N records before anything reads: the ring keeps what fits, the
    rest is counted; printed + lost == N, reported once in bpftrace's format."""
    from pybpf.lang.expand import compile_for_kernel
    from pybpf.lang.session import KernelSession

    n = 60
    script = compile_for_kernel(
        f'BEGIN {{ $i = 0; while ($i < {n}) {{ printf("%d %s\\n", $i, "{"y" * 40}"); '
        "$i++; } }")
    _shrink_ring(script)
    out, err = io.StringIO(), io.StringIO()
    sess = KernelSession(script, out, err=err, quiet=True, fmt=fmt)
    sess.start()
    sess.finish()
    lines = out.getvalue().splitlines()
    if fmt == "json":
        objs = [json.loads(ln) for ln in lines if ln.strip()]
        printed = [o["data"].rstrip("\n") for o in objs if o["type"] == "printf"]
        losses = [o for o in objs if o["type"] == "lost_events"]
        assert losses == [{"type": "lost_events", "data": {"events": n - len(printed)}}]
    else:
        printed = [ln for ln in lines if ln.endswith("y" * 40)]
        assert [ln for ln in lines if ln.startswith("Lost")] == [
            f"Lost {n - len(printed)} events"]
    assert len(printed) == _fits(script) < n
    assert [int(ln.split()[0]) for ln in printed] == list(range(len(printed)))
    assert sess.lost == n - len(printed)


@pytest.mark.kernel
def test_child_storm_lost_plus_delivered_is_attempted() -> None:
    """A -c child makes exactly N getppid calls; the probe filters on cpid. Whatever the
    reader keeps up with, printed lines + reported losses == N."""
    from pybpf.lang.expand import compile_for_kernel
    from pybpf.lang.session import KernelSession

    n = 20_000
    script = compile_for_kernel(
        'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%d\\n", pid); }',
        child=True)
    _shrink_ring(script)
    assert LOST in script.spec.maps
    child = [sys.executable, "-c", f"import os\nfor _ in range({n}): os.getppid()"]
    out, err = io.StringIO(), io.StringIO()
    sess = KernelSession(script, out, err=err, quiet=True, child=child, ring_size=TINY_RING)
    sess.run(timeout=60)
    text = out.getvalue()
    assert sess.child is not None
    pids = {ln for ln in text.splitlines() if ln.isdigit()}
    delivered = sum(1 for ln in text.splitlines() if ln.isdigit())
    assert pids == {str(sess.child.pid)}  # cpid is the child's pid
    lost = _lost(text)
    assert lost > 0
    assert delivered + lost == n


def test_lost_counter_in_vm_is_exact() -> None:
    """Same accounting in the vm: a BEGIN loop overruns a one-page ring."""
    n = 200
    script = compile_script(
        f'BEGIN {{ $i = 0; while ($i < {n}) {{ printf("%d\\n", $i); $i++; }} }}',
        tracepoint_format=None)
    _shrink_ring(script)
    coll = script.spec.load(backend="vm")
    try:
        prog = coll.programs[script.programs[0].name]
        prog.test_run(ctx=bytes(64))
        lost = coll.maps[LOST].lookup_raw(bytes(4))
        ring: Any = coll.maps[RINGBUF]
        recs = list(ring.consume())
    finally:
        coll.close()
    assert lost is not None
    assert len(recs) == _fits(script) < n
    assert int.from_bytes(lost[:8], "little") == n - len(recs)


def test_full_map_warns_once_when_it_happens(capsys: pytest.CaptureFixture[str]) -> None:
    """The update that fails with E2BIG sets the map's flag; the runtime warns once,
    naming the map, and the entries that fit are kept."""
    script = compile_script("BEGIN { @big[1] = 1; @big[2] = 2; @big[3] = 3; @big[4] = 4; "
                            "@ok[1] = 1; }", tracepoint_format=None)
    assert MAPFULL in script.spec.maps
    script.spec.maps[script.maps["@big"].bpf_name].max_entries = 2
    out = run_vm(script)
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1
    assert "map @big is full (2 entries)" in err
    assert out.count("@big[") == 2 and "@ok[1]: 1" in out


def test_cpid_without_child_is_bpftrace_error() -> None:
    from pybpf.lang.expand import compile_for_kernel

    with pytest.raises(CompileError) as ei:
        compile_for_kernel('BEGIN { printf("%d\\n", cpid); }')
    assert ei.value.text.splitlines()[0] == (
        "stdin:1:24-28: ERROR: cpid cannot be used without child command")


def test_tracepoint_wildcard_matching_nothing_is_bpftrace_error() -> None:
    from pybpf.lang.expand import compile_for_kernel

    with pytest.raises(CompileError) as ei:
        compile_for_kernel("tracepoint:syscalls:nonexist* { @ = count(); }",
                           list_tracepoints=lambda pattern: [])
    assert ei.value.text.splitlines()[0] == (
        "stdin:1:1-30: ERROR: tracepoints not found: syscalls:nonexist*")


@pytest.mark.kernel
def test_cli_cpid_and_string_parameter() -> None:
    """`-c` fills cpid; str($2) of a string positional parameter, as bpftrace 0.17."""
    r = subprocess.run([sys.executable, "-m", "pybpf", "trace", "-q", "-e",
                        'BEGIN { printf("%d %s\\n", cpid, str($2)); exit(); }', "-c",
                        "/bin/true", "a", "hello"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0].split()
    assert int(first[0]) > 1 and first[1] == "hello"
