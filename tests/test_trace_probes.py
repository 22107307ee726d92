"""`pybpf trace` on every probe kind the VM offers, each on a deterministic workload.

The workloads are C programs built with gcc once per session: ``workload.c`` (the link
tests' one: raw getpid syscalls, a hand-written USDT note with a semaphore) and
``trace_wl.c`` (a <sys/sdt.h> probe with memory operands, a function, a CPU spinner,
fixed sleeps). Each test filters on the child (``cpid``, ``-p``, or the binary), so a
busy machine changes no count; where bpftrace 0.17 is installed and supports the same
script, its output is compared with ours.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workloads.build import HERE, build_workload, gcc_missing

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def bins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """{"workload": path, "wl": path}: both C workloads, built once."""
    reason = gcc_missing()
    if reason:
        pytest.skip(reason)
    d = tmp_path_factory.mktemp("trace_probes")
    wl = str(d / "trace_wl")
    cc = subprocess.run(["gcc", "-O0", "-o", wl, os.path.join(HERE, "trace_wl.c")],
                        capture_output=True, text=True)
    if cc.returncode != 0 and "sdt.h" in cc.stderr:
        pytest.skip("<sys/sdt.h> (systemtap-sdt-dev) is not installed")
    assert cc.returncode == 0, cc.stderr
    return {"workload": build_workload(str(d)), "wl": wl}


def trace(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pybpf", "trace", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def bpftrace(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bpftrace", *argv], capture_output=True, text=True, timeout=timeout)


def maps_of(out: str) -> dict[str, str]:
    """``@name: value`` / ``@name[key]: value`` lines → {"@name" or "@name[key]": value}."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(@[^:\n]*?): (.*)$", out, re.M)}


def hist_rows(out: str, name: str) -> dict[str, int]:
    """The bucket rows of histogram ``@name``: {"[16M, 32M)": count}."""
    block = out.split(f"{name}: \n", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\[[^)\]]*[)\]])\s+(\d+) \|", block, re.M)}


def expected_sum(n: int, f: object) -> int:
    return sum(f(i) for i in range(n))  # type: ignore[operator]


needs_bpftrace = pytest.mark.skipif(shutil.which("bpftrace") is None,
                                    reason="bpftrace is not installed")


# -- uprobe / uretprobe ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [10, 23])
def test_uprobe_count_arg_and_uretprobe_sum(bins: dict[str, str], n: int) -> None:
    wl = bins["wl"]
    r = trace("-q", "-e", f"uprobe:{wl}:trace_fn {{ @calls = count(); @a = sum(arg0); }} "
              f"uretprobe:{wl}:trace_fn {{ @ret = sum(retval); @rc = count(); }}",
              "-c", f"{wl} func {n}")
    assert r.returncode == 0, r.stderr
    total = expected_sum(n, lambda i: 2 * i + 3)
    assert r.stdout.startswith(f"{total}\n")  # the workload's own sum, printed first
    assert maps_of(r.stdout) == {"@calls": str(n), "@a": str(expected_sum(n, lambda i: i)),
                                 "@ret": str(total), "@rc": str(n)}


def test_uprobe_func_keys_one_entry(bins: dict[str, str]) -> None:
    """``@[func]``: every hit of one function lands on one key (printed as a hex address
    once the process is gone, as bpftrace 0.17 prints it)."""
    wl = bins["wl"]
    r = trace("-q", "-e", f"uprobe:{wl}:trace_fn {{ @[func] = count(); }}", "-c", f"{wl} func 7")
    assert r.returncode == 0, r.stderr
    got = maps_of(r.stdout)
    assert list(got.values()) == ["7"]
    key = next(iter(got))
    assert re.fullmatch(r"@\[(trace_fn|0x[0-9a-f]+)\]", key)
    if key != "@[trace_fn]":  # an address: its page offset is the symbol's
        sym = _symbol_value(wl, "trace_fn")
        assert int(key[2:-1], 16) & 0xfff == sym & 0xfff


def _symbol_value(path: str, name: str) -> int:
    from pybpf.symbols.elf import open_elf

    sym = open_elf(path).symbol(name)
    assert sym is not None, f"{path} has no symbol {name}"
    return int(sym.value)


def test_uprobe_offset_and_address_forms(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    addr = _symbol_value(wl, "trace_fn")
    r = trace("-q", "-e", f"uprobe:{wl}:trace_fn+4 {{ @off = count(); }} "
              f"uprobe:{wl}:{hex(addr)} {{ @addr = count(); @a = sum(arg0); }}",
              "-c", f"{wl} func 6")
    assert r.returncode == 0, r.stderr
    assert maps_of(r.stdout) == {"@off": "6", "@addr": "6", "@a": "15"}


@needs_bpftrace
def test_uprobe_matches_bpftrace(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    script = (f"uprobe:{wl}:trace_fn {{ @[comm] = count(); @a = sum(arg0); }} "
              f"uretprobe:{wl}:trace_fn {{ @ret = sum(retval); @mx = max(retval); }}")
    ours = trace("-q", "-e", script, "-c", f"{wl} func 12")
    theirs = bpftrace("-e", script, "-c", f"{wl} func 12")
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    assert maps_of(ours.stdout) == maps_of(theirs.stdout)
    assert maps_of(ours.stdout)["@mx"] == "25"


# -- USDT ------------------------------------------------------------------------------------

def test_usdt_sdt_h_memory_operands(bins: dict[str, str]) -> None:
    """<sys/sdt.h> at -O0: arguments are -4@-20(%rbp) / -8@-8(%rbp) (read from the stack)."""
    wl = bins["wl"]
    r = trace("-q", "-e", f"usdt:{wl}:pybpft:step {{ @n = count(); @a0 = sum(arg0); "
              "@a1 = sum(arg1); @mx = max(arg1); }", "-c", f"{wl} usdt 9")
    assert r.returncode == 0, r.stderr
    assert maps_of(r.stdout) == {"@n": "9", "@a0": "36", "@a1": "360", "@mx": "80"}


def test_usdt_register_operands_semaphore_and_short_form(bins: dict[str, str]) -> None:
    """The hand-written note (``-4@%eax 8@%rdx``), guarded by a semaphore the kernel sets;
    ``usdt:BIN:name`` (no provider) finds it too."""
    w = bins["workload"]
    for probe in (f"usdt:{w}:pybpf:tick", f"usdt:{w}:tick"):
        r = trace("-q", "-e", f"{probe} {{ @n = count(); @s = sum(arg0); @d = sum(arg1); }}",
                  "-c", f"{w} usdt 11")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("11\n")  # the semaphore was set on every iteration
        assert maps_of(r.stdout) == {"@n": "11", "@s": "55", "@d": "110"}


def test_usdt_locations_with_different_layouts_and_rip_relative(bins: dict[str, str]) -> None:
    """``pybpft:multi`` has three sites whose arguments live in different places
    (``-4@-4(%rbp)``, ``-4@%eax``, ``-4@%edi``; ``-4@%eax``, ``-4@%edx``,
    ``-4@g_multi(%rip)``): each site's cookie picks its layout, and the %rip-relative
    global is read at its run-time address (the PIE is mapped anywhere). bpftrace 0.17
    reads that last operand from a wrong address on this machine."""
    wl = bins["wl"]
    n = 5
    r = trace("-q", "-e", f"usdt:{wl}:pybpft:multi {{ @n = count(); @v = sum(arg0); "
              "@g = sum(arg1); @mx = max(arg1); }", "-c", f"{wl} multi {n}")
    assert r.returncode == 0, r.stderr
    v = sum(i + 100 + i + 200 + i for i in range(n))
    g = sum(range(1, 3 * n + 1))
    assert maps_of(r.stdout) == {"@n": str(3 * n), "@v": str(v), "@g": str(g),
                                 "@mx": str(3 * n)}


def _wait_workload(wl: str) -> subprocess.Popen[str]:
    return subprocess.Popen([wl, "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def test_usdt_and_uprobe_with_pid(bins: dict[str, str]) -> None:
    """``-p PID``: only that process's hits; the session ends when it exits. A second copy
    of the same binary running at the same time is not counted."""
    wl = bins["wl"]
    target, other = _wait_workload(wl), _wait_workload(wl)
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-p", str(target.pid), "-e",
                          f"usdt:{wl}:pybpft:step {{ @n = count(); @s = sum(arg1); }} "
                          f"uprobe:{wl}:trace_fn {{ @f = count(); printf(\"%s\\n\", func); }}"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None and p.stdout is not None
        assert p.stderr.readline() == "Attached 2 probes\n"
        assert target.stdin is not None and other.stdin is not None
        for proc, n in ((other, 3), (target, 5), (other, 2)):
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"{n}\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == f"{expected_sum(n, lambda i: 2 * i + 3)}\n"
        # the events are printed while the target lives: func resolves to its name
        lines = [p.stdout.readline() for _ in range(5)]
        assert lines == ["trace_fn\n"] * 5
        target.stdin.close()
        target.wait(timeout=10)
        out, err = p.communicate(timeout=30)
    finally:
        for proc in (target, other, p):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert p.returncode == 0, err
    assert maps_of(out) == {"@n": "5", "@s": "100", "@f": "5"}


@needs_bpftrace
def test_usdt_matches_bpftrace(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    script = f"usdt:{wl}:pybpft:step {{ @[comm] = count(); @a = sum(arg0); @b = sum(arg1); }}"
    ours = trace("-q", "-e", script, "-c", f"{wl} usdt 14")
    theirs = bpftrace("-e", script, "-c", f"{wl} usdt 14")
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    assert maps_of(ours.stdout) == maps_of(theirs.stdout) == {
        "@[trace_wl]": "14", "@a": "91", "@b": "910"}


# -- timers and software events --------------------------------------------------------------

def test_profile_samples_land_on_the_busy_child(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    r = trace("-q", "-e", "profile:hz:99 /pid == cpid/ { @[comm] = count(); }",
              "-c", f"{wl} spin 1000")
    assert r.returncode == 0, r.stderr
    got = {k: int(v) for k, v in maps_of(r.stdout).items()}
    busy = got.get("@[trace_wl]", 0)
    # ~99 samples for 1 s of CPU; allow wide slack on a loaded machine, never zero
    assert 30 <= busy <= 200, got
    # (nearly) all of that pid's samples are the workload's, not the pre-exec python fork
    assert busy >= 0.9 * sum(got.values()), got


def test_software_cpu_clock_on_the_child(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    r = trace("-q", "-e", "software:cpu-clock:1000000 /pid == cpid/ { @[comm] = count(); }",
              "-c", f"{wl} spin 400")
    assert r.returncode == 0, r.stderr
    got = {k: int(v) for k, v in maps_of(r.stdout).items()}
    busy = got.get("@[trace_wl]", 0)
    assert 150 <= busy <= 1000, got  # one sample per ms of CPU time: ~400
    assert busy >= 0.9 * sum(got.values()), got


@pytest.mark.parametrize("tool", ["pybpf", pytest.param("bpftrace", marks=needs_bpftrace)])
def test_interval_exits_after_five_fires(tool: str) -> None:
    script = "interval:ms:100 { @n++; if (@n == 5) { exit(); } }"
    r = trace("-q", "-e", script) if tool == "pybpf" else bpftrace("-e", script)
    assert r.returncode == 0, r.stderr
    assert maps_of(r.stdout) == {"@n": "5"}


# -- histograms of known sleeps --------------------------------------------------------------

def test_hist_lhist_of_requested_sleeps_exact(bins: dict[str, str]) -> None:
    """The requested 20 ms (from the syscall's argument, through BTF): exact buckets."""
    wl = bins["wl"]
    r = trace("-q", "-e", "tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ "
              "{ @ns = hist(args->rqtp->tv_nsec); "
              "@ms = lhist(args->rqtp->tv_nsec / 1000000, 0, 100, 10); }",
              "-c", f"{wl} sleep 5 20")
    assert r.returncode == 0, r.stderr
    assert hist_rows(r.stdout, "@ns") == {"[16M, 32M)": 5}
    assert hist_rows(r.stdout, "@ms") == {"[20, 30)": 5}


def test_sleep_latency_hist(bins: dict[str, str]) -> None:
    """Measured sleep lengths: all 5 at least 16 ms (a sleep never ends early)."""
    wl = bins["wl"]
    r = trace("-q", "-e", "tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ "
              "{ @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_clock_nanosleep /@s[tid]/ "
              "{ @lat = hist((nsecs - @s[tid]) / 1000000); delete(@s[tid]); }",
              "-c", f"{wl} sleep 5 20")
    assert r.returncode == 0, r.stderr
    rows = hist_rows(r.stdout, "@lat")
    assert sum(rows.values()) == 5, r.stdout
    lows = [int(k[1:].split(",")[0]) for k in rows]
    assert min(lows) >= 16, rows


# -- raw tracepoints -------------------------------------------------------------------------

def test_rawtracepoint_sys_enter_args(bins: dict[str, str]) -> None:
    """``rawtracepoint:sys_enter``: arg1 is the syscall number (getpid is 39 on x86-64)."""
    w = bins["workload"]
    r = trace("-q", "-e", "rawtracepoint:sys_enter /pid == cpid && arg1 == 39/ "
              "{ @[comm] = count(); }", "-c", f"{w} getpid 17")
    assert r.returncode == 0, r.stderr
    assert maps_of(r.stdout) == {"@[workload]": "17"}


def test_rawtracepoint_exec_btf_cast(bins: dict[str, str]) -> None:
    """sched_process_exec's third argument is a ``struct linux_binprm *`` (read via BTF)."""
    w = bins["workload"]
    r = trace("-q", "-e", "rawtracepoint:sched_process_exec /pid == cpid/ { @[comm] = count(); "
              "printf(\"%s\\n\", str(((struct linux_binprm *)arg2)->filename)); }",
              "-c", f"{w} getpid 1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{w}\n")
    assert maps_of(r.stdout) == {"@[workload]": "1"}


# -- printing builtins on real events --------------------------------------------------------

def test_printf_str_join_usym_ustack_on_uprobe(bins: dict[str, str]) -> None:
    """While the traced process lives, usym/ustack of the uprobe address name the function."""
    wl = bins["wl"]
    target = _wait_workload(wl)
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-p", str(target.pid),
                          "-e", f"uprobe:{wl}:trace_fn {{ printf(\"%s|%d|%s|%s\\n\", "
                          "usym(reg(\"ip\")), arg0, comm, \"lit\"); "
                          "printf(\"%s\", ustack(1)); }"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stderr is not None
        assert target.stdin is not None and target.stdout is not None
        assert p.stderr.readline() == "Attached 1 probe\n"
        target.stdin.write("2\n")
        target.stdin.flush()
        assert target.stdout.readline() == "8\n"
        got = [p.stdout.readline() for _ in range(6)]
        target.stdin.close()
        target.wait(timeout=10)
        p.communicate(timeout=30)
    finally:
        for proc in (target, p):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert got == ["trace_fn|0|trace_wl|lit\n", "\n", "        trace_fn+0\n",
                   "trace_fn|1|trace_wl|lit\n", "\n", "        trace_fn+0\n"]


def test_ksym_kstack_on_tracepoint(bins: dict[str, str]) -> None:
    """kstack of sys_enter_getpid holds the syscall entry path; ksym of a known symbol's
    address prints its name."""
    w = bins["workload"]
    addr = _kallsyms("do_syscall_64")
    if addr == 0:
        pytest.skip("kallsyms addresses are hidden")
    r = trace("-q", "-e", "tracepoint:syscalls:sys_enter_getpid /pid == cpid/ "
              f"{{ @k[kstack] = count(); @s = count(); }} BEGIN {{ printf(\"%s\\n\", "
              f"ksym({addr})); }}", "-c", f"{w} getpid 3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("do_syscall_64\n")
    assert "do_syscall_64+" in r.stdout
    assert maps_of(r.stdout)["@s"] == "3"
    assert re.search(r"^\]: 3$", r.stdout, re.M)  # one stack key, all 3 hits


def _kallsyms(name: str) -> int:
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == name:
                return int(parts[0], 16)
    return 0


def test_join_on_exec_args(bins: dict[str, str]) -> None:
    w = bins["workload"]
    r = trace("-q", "-e", "tracepoint:syscalls:sys_enter_execve /pid == cpid/ "
              "{ join(args->argv); }", "-c", f"{w} getpid 2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{w} getpid 2\n")


@needs_bpftrace
def test_hist_of_requested_sleeps_matches_bpftrace(bins: dict[str, str]) -> None:
    wl = bins["wl"]
    script = ("tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ "
              "{ @ns = hist(args->rqtp->tv_nsec); @n[comm] = count(); }")
    ours = trace("-q", "-e", script, "-c", f"{wl} sleep 3 20")
    theirs = bpftrace("-e", script, "-c", f"{wl} sleep 3 20")
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    body = theirs.stdout.split("\n", 1)[1]  # without "Attaching 1 probe..."
    assert ours.stdout == body
    assert hist_rows(ours.stdout, "@ns") == {"[16M, 32M)": 3}


# -- iterators -------------------------------------------------------------------------------

def test_iter_task_lists_own_and_child_tasks(bins: dict[str, str]) -> None:
    """iter:task runs once over every task and ends the session: the test's own process
    and a waiting child appear with their pid and comm, exactly once each."""
    child = _wait_workload(bins["wl"])
    me = os.getpid()
    comm = Path("/proc/self/comm").read_text().strip()
    try:
        r = trace("-e", f"iter:task /ctx->task->tgid == {me} || ctx->task->tgid == {child.pid}/ "
                  "{ printf(\"%d %d %s\\n\", ctx->task->tgid, ctx->task->pid, ctx->task->comm); "
                  "@n = count(); } END { printf(\"end\\n\"); }")
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "Attached 2 probes\n"
    lines = r.stdout.split("end\n")[0].splitlines()
    threads = {int(t) for t in os.listdir(f"/proc/{me}/task")}
    assert f"{child.pid} {child.pid} trace_wl" in lines
    assert f"{me} {me} {comm[:15]}" in lines
    assert {int(ln.split()[1]) for ln in lines if int(ln.split()[0]) == me} == threads
    assert maps_of(r.stdout) == {"@n": str(len(lines))}
