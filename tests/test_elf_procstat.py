"""The libbpf-tools-sized object (tests/bpf/procstat.bpf.c: 5 programs, 5 maps, ~230 CO-RE
relocations) loads, attaches and reports a controlled process's life exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from bpf.build import build, missing

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(missing() is not None, reason=f"objects: {missing()}")]

K_EXEC, K_EXIT, K_FORK, K_EXECVE, K_EXECVE_RET = range(5)
FORKS = 3
# Waits for a line, forks FORKS children (each exits at once), then execs /bin/true.
CHILD = textwrap.dedent(f"""
    import os, sys
    sys.stdin.readline()
    kids = []
    for _ in range({FORKS}):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    print(" ".join(map(str, kids)), flush=True)
    os.execv("/bin/true", ["true"])
""")


def test_procstat_counts_and_snapshots() -> None:
    from pybpf.btf.ext import load_object_btf
    from pybpf.elf import load_collection_spec

    obj = build("procstat")
    btf, ext = load_object_btf(obj)
    assert ext is not None and sum(len(v) for v in ext.core_relos.values()) >= 200
    spec = load_collection_spec(obj)
    assert sum(len(p.insns) for p in spec.programs.values()) >= 2000
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        spec.rodata["targ_tgid"] = child.pid
        with spec.load() as coll:
            assert len(coll.attach_all()) == 5
            rb = coll.ring_buffer("events", record="event")
            out, _ = child.communicate("go\n", timeout=30)
            assert child.returncode == 0
            kids = [int(x) for x in out.split()]
            events = rb.drain()
            rb.close()
            counts = dict(coll.maps["counts"].items())
            assert counts == {K_EXEC: 1, K_EXIT: 1, K_FORK: FORKS, K_EXECVE: 1,
                              K_EXECVE_RET: 1}
            assert [e.kind for e in events] == (
                [K_FORK] * FORKS + [K_EXECVE, K_EXEC, K_EXECVE_RET, K_EXIT])
            assert [e.ret for e in events[:FORKS]] == kids  # the fork tracepoint's child pid
            me = os.getpid()
            for e in events:
                assert (e.pid, e.tgid, e.leader, e.ppid) == (child.pid,) * 3 + (me,)
                assert (e.uid, e.euid, e.gid) == (os.getuid(), os.geteuid(), os.getgid())
                assert e.parent_comm == open(f"/proc/{me}/comm").read().strip()
            py = os.path.basename(sys.executable)[:15]
            assert [e.comm for e in events] == [py] * (FORKS + 1) + ["true"] * 3
            ret = events[FORKS + 2]
            assert ret.ret == 0 and ret.latency_ns > 0
            assert events[-1].exit_code == 0  # /bin/true's exit status
            assert all(e.start_time > 0 and e.arg_start <= e.arg_end for e in events)
            assert coll.maps["last_pid"][K_EXIT] == child.pid
            assert spec.bss["dropped"] == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
