"""Stacks, symbols, compile-time addresses and for-map loops in the kernel, checked against
/proc and (when installed) against bpftrace itself on the same workload."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel


def trace(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pybpf", "trace", *argv],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def opener() -> Iterator[tuple[str, str]]:
    """(workload command, file it opens 3 times before sleeping 1 s)."""
    d = Path(tempfile.mkdtemp(prefix="pbs", dir="/tmp"))
    target = d / "t"
    target.write_text("x")
    work = d / "w.py"
    work.write_text("import os, time\nfor _ in range(3):\n"
                    f"    os.close(os.open({str(target)!r}, os.O_RDONLY))\ntime.sleep(1)\n")
    yield f"{sys.executable} {work}", str(target)
    shutil.rmtree(d)


def test_kernel_stacks_match_bpftrace(opener: tuple[str, str]) -> None:
    cmd, target = opener
    prog = (f'tracepoint:syscalls:sys_enter_openat /str(args->filename) == "{target}"/ '
            "{ @[kstack(perf, 4)] = count(); @k[kstack(2)] = count(); "
            'printf("%s|\\n", kstack(1)); }')
    ours = trace("--compat", "0.17", "-c", cmd, "-e", prog)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.count("|\n") == 3
    keys = re.findall(r"@\[\n((?:\t[0-9a-f]+ \S+\n)+)\]: 3\n", ours.stdout)
    assert len(keys) == 1, ours.stdout
    from pybpf.symbols import kallsyms

    ks = kallsyms()
    for line in keys[0].splitlines():  # every frame: "\t<addr> <symbol>+<offset>"
        addr_s, sym = line.strip().split(" ")
        name, off = sym.rsplit("+", 1)
        hit = ks.lookup(int(addr_s, 16))
        assert hit is not None and hit[1] == int(off)
        assert ks.address(name) == hit[0].addr
    assert re.search(r"@k\[\n    \S+\+\d+\n    \S+\+\d+\n\]: 3\n", ours.stdout)
    if shutil.which("bpftrace") is None:
        return
    ref = subprocess.run(["bpftrace", "-c", cmd, "-e", prog], capture_output=True, text=True,
                         timeout=60)
    if ref.returncode != 0:
        pytest.skip(f"bpftrace failed: {ref.stderr[-200:]}")
    assert ours.stdout == ref.stdout


def test_user_stack_symbolized_while_the_process_lives(opener: tuple[str, str]) -> None:
    cmd, target = opener
    prog = (f'tracepoint:syscalls:sys_enter_openat /str(args->filename) == "{target}"/ '
            '{ printf("%s", ustack(perf, 2)); printf("%s", ustack(1)); @[ustack(1)] = count(); }')
    r = trace("-c", cmd, "-e", prog)
    assert r.returncode == 0, r.stderr
    perf = re.findall(r"^\t([0-9a-f]+) (\S+)\+(\d+) \((/\S+)\)$", r.stdout, re.M)
    assert len(perf) >= 3, r.stdout
    assert all("libc" in path for _, _, _, path in perf[:1])
    assert any("open" in name for _, name, _, _ in perf), perf
    first = f"{perf[0][1]}+{perf[0][2]}"
    assert f"\n        {first}\n" in r.stdout  # bpftrace mode: indent 8, no module
    # the map prints after the process ended: like bpftrace, addresses stay raw then
    assert re.search(rf"@\[\n    (0x{perf[0][0]}|{re.escape(first)})\n\]: 3\n", r.stdout)


def test_compile_time_addresses_and_print_time_names() -> None:
    from pybpf.symbols import kallsyms

    cg = next((p for p in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
               if os.path.exists(p + "/cgroup.procs")), None)
    if cg is None:
        pytest.skip("no cgroup v2 directory")
    r = trace("-e", f'BEGIN {{ printf("%lx %ld %s %s|%d\\n", kaddr("vfs_read"), '
                    f'cgroupid("{cg}"), ksym(kaddr("vfs_read") + 3), username, '
                    "curtask->in_execve); exit(); }")
    assert r.returncode == 0, r.stderr
    addr = kallsyms().address("vfs_read")
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    assert r.stdout.splitlines()[0] == f"{addr:x} {os.stat(cg).st_ino} vfs_read {me}|0"
    bad = trace("-e", 'BEGIN { @ = kaddr("pybpf_no_such_symbol"); }')
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("ERROR: Failed to compile: Failed to resolve kernel symbol: "
                                  "pybpf_no_such_symbol")


def test_for_map_loops_see_every_entry_and_stop_on_break() -> None:
    prog = ('BEGIN { @a[1] = 10; @a[2] = 20; @a[3] = 30; @s["x", 4] = 7; @c[5] = count(); '
            "@c[5] = count(); $n = 0; $seen = 0; "
            "for ($kv : @a) { $n += $kv.1; $seen++; } "
            'for ($e : @s) { printf("s %s %d %d\\n", $e.0.0, $e.0.1, $e.1); } '
            'for ($c : @c) { printf("c %d %d\\n", $c.0, $c.1); } '
            "$b = 0; for ($kv : @a) { $b++; break; } "
            'printf("n=%d seen=%d b=%d\\n", $n, $seen, $b); exit(); }')
    r = trace("-e", prog)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["s x 4 7", "c 5 2", "n=60 seen=3 b=1"]


def test_whole_structs_print_like_bpftrace() -> None:
    prog = ("BEGIN { @ = curtask->se.load; print(curtask->se.load); "
            "@x[curtask->se.load] = count(); @w = curtask->se.load.weight; exit(); }")
    r = trace("--compat", "0.17", "-e", prog)
    assert r.returncode == 0, r.stderr
    w = int(re.search(r"@w: (\d+)", r.stdout).group(1))  # type: ignore[union-attr]
    assert w > 0
    line = re.search(r"^\{ \.weight = (\d+), \.inv_weight = (\d+) \}$", r.stdout, re.M)
    assert line is not None and int(line.group(1)) == w, r.stdout
    assert f"@x[{{.weight={w},.inv_weight={line.group(2)}}}]: 1\n" in r.stdout
    if shutil.which("bpftrace") is not None:
        ref = subprocess.run(["bpftrace", "-e", prog], capture_output=True, text=True,
                             timeout=60)
        if ref.returncode == 0:
            assert r.stdout == ref.stdout


def test_pointer_values_print_as_017_does() -> None:
    prog = ("BEGIN { @ = curtask->sched_class; @p[curtask->sched_class] = 1; "
            'printf("%d %lx\\n", curtask->sched_class, curtask->sched_class); exit(); }')
    r = trace("--compat", "0.17", "-e", prog)
    assert r.returncode == 0, r.stderr
    low, full = r.stdout.splitlines()[1].split()
    addr = int(full, 16)
    s32 = (addr & 0xFFFFFFFF) - ((addr & 0x80000000) << 1)
    assert int(low) == s32
    assert f"@: {s32}\n" in r.stdout and f"@p[0x{addr:x}]: 1\n" in r.stdout
    modern = trace("-e", prog)
    assert f"@: 0x{addr:x}\n" in modern.stdout


def test_uprobe_func_reg_and_stack_args() -> None:
    from pybpf.symbols import open_elf

    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(libc):
        pytest.skip("no glibc at the usual path")
    d = Path(tempfile.mkdtemp(prefix="pbu", dir="/tmp"))
    work = d / "w.py"
    work.write_text("import os, time\nfor _ in range(2):\n    os.getpid()\ntime.sleep(0.5)\n")
    prog = (f"uprobe:{libc}:getpid /pid == $1/ "
            '{ printf("%s|%s|%s|%d\\n", func, usym(reg("ip")), ksym(0), sarg0); }')
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.stdin.readline(); "
                              f"exec(open({str(work)!r}).read())"], stdin=subprocess.PIPE)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-p", str(child.pid),
                                 "-e", prog, str(child.pid)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        import time

        time.sleep(2.5)  # attached by then
        assert child.stdin is not None
        child.stdin.write(b"\n")
        child.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        child.kill()
        shutil.rmtree(d)
    lines = [ln for ln in out.splitlines() if "|" in ln]
    assert len(lines) == 2, (out, err)
    func, ip_sym, k0, sarg = lines[0].split("|")
    assert func == ip_sym and k0 == "0"
    int(sarg)  # the caller's stack word: only its presence is deterministic
    elf = open_elf(libc)
    assert {s.value for s in elf.symbols if s.name == func} == \
        {s.value for s in elf.symbols if s.name == "getpid"}
