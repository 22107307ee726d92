"""`pybpf trace` end to end on the real kernel: deterministic workloads, exact values.

The workload is a small Python program that renames itself (``/proc/self/comm``)
and then opens a named file exactly N times, so a script filtering on that comm
counts exactly N. Every test also checks that nothing stays loaded afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# unique per test run: concurrent runs of this suite must not count each other's opens
COMM = f"tw{os.getpid() % 100000:05d}"
OPENER = textwrap.dedent(f"""\
    import sys, time
    with open("/proc/self/comm", "w") as f:
        f.write("{COMM}")
    n, path = int(sys.argv[1]), sys.argv[2]
    for _ in range(n):
        open(path).close()
    if len(sys.argv) > 3:
        time.sleep(float(sys.argv[3]))
""")
COUNT_OPENS = ("tracepoint:syscalls:sys_enter_openat /comm == \"" + COMM + "\"/ "
               "{ @[comm] = count(); @files[str(args->filename)] = count(); }")


@pytest.fixture(scope="module")
def opener(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("trace") / "opener.py"
    path.write_text(OPENER)
    return str(path)


def pybpf_trace(*args: str, timeout: float = 30, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pybpf", "trace", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]


def our_progs(names: set[str]) -> list[str]:
    from pybpf.kernel.info import list_progs

    return [p.name for p in list_progs() if p.name in names]


pytestmark = pytest.mark.kernel


def test_child_opens_file_n_times(opener: str) -> None:
    r = pybpf_trace("-e", COUNT_OPENS, "-c", f"{sys.executable} {opener} 7 /etc/hostname")
    assert r.returncode == 0, r.stderr
    assert f"@[{COMM}]: 7\n" in r.stdout
    assert "@files[/etc/hostname]: 7\n" in r.stdout
    assert r.stderr == "Attached 1 probe\n"


def test_child_count_other_n(opener: str) -> None:
    """A second N: the count follows the workload, not a constant."""
    r = pybpf_trace("-q", "-e", COUNT_OPENS, "-c", f"{sys.executable} {opener} 13 /etc/hosts")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"\n\n@[{COMM}]: 13\n@files[/etc/hosts]: 13\n"
    assert r.stderr == ""


def test_exit_prints_maps_and_runs_end() -> None:
    r = pybpf_trace("-e", 'BEGIN { @x = 5; @y[1, "a"] = 2; printf("b%d\\n", 1); exit(); '
                    'printf("not reached\\n"); } END { printf("end %d\\n", 2); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "b1\nend 2\n\n\n@x: 5\n@y[1, a]: 2\n"
    assert r.stderr == "Attached 2 probes\n"


def test_interval_fires_until_exit() -> None:
    # the probe may fire again between exit() and the detach: count only up to 4
    r = pybpf_trace("-e", "interval:ms:20 { if (@ticks < 4) { @ticks++; "
                    "if (@ticks == 4) { printf(\"four\\n\"); exit(); } } }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "four\n\n\n@ticks: 4\n"


def test_child_exit_ends_session(opener: str) -> None:
    """No exit() in the script: the -c child ending is what stops it."""
    r = pybpf_trace("-e", 'BEGIN { @started = 1; } END { printf("end\\n"); }',
                    "-c", f"{sys.executable} {opener} 0 /etc/hostname 0.2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "end\n\n\n@started: 1\n"


def test_json_output(opener: str) -> None:
    r = pybpf_trace("-f", "json", "-e", COUNT_OPENS + ' BEGIN { printf("hi\\n"); }',
                    "-c", f"{sys.executable} {opener} 3 /etc/hostname")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines() if line]
    assert lines[0] == {"type": "attached_probes", "data": {"probes": 2}}
    assert lines[1] == {"type": "printf", "data": "hi\n"}
    assert {"type": "map", "data": {"@": {COMM: 3}}} in lines
    assert {"type": "map", "data": {"@files": {"/etc/hostname": 3}}} in lines


def test_compat_017_header_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    r = pybpf_trace("--compat=0.17", "-o", str(out), "-e", "BEGIN { @n = 3; exit(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert out.read_text() == "Attaching 1 probe...\n\n\n@n: 3\n"


def test_script_file_and_params(tmp_path: Path) -> None:
    script = tmp_path / "s.bt"
    script.write_text('BEGIN { printf("%d %d\\n", $1, $1 + $2); exit(); }\n')
    r = pybpf_trace("-q", str(script), "41", "9")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "41 50\n\n\n"


def test_script_from_stdin() -> None:
    r = pybpf_trace("-q", "-", input='BEGIN { printf("stdin ok\\n"); exit(); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "stdin ok\n\n\n"


def test_compile_error_is_bpftrace_text() -> None:
    r = pybpf_trace("-e", "BEGIN { syntax error")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith("stdin:1:")
    assert "ERROR: syntax error" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_tracepoint_is_one_line() -> None:
    r = pybpf_trace("-e", "tracepoint:nosuchcat:nosuchevent { @ = count(); }")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "nosuchcat:nosuchevent" in r.stderr


def test_sigint_ends_cleanly() -> None:
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-e",
                          "interval:ms:10 { @t = count(); } END { printf(\"end\\n\"); }"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    assert p.stderr.readline() == "Attached 2 probes\n"
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert out.startswith("end\n\n\n@t: ")
    assert int(out.split("@t: ")[1]) >= 1


def test_sigterm_ends_cleanly() -> None:
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-q", "-e",
                          "interval:ms:10 { @t = count(); }"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert out.startswith("\n\n@t: ")


def test_wildcard_counts_probe_names(opener: str) -> None:
    r = pybpf_trace("-e", "tracepoint:syscalls:sys_enter_open* /comm == \"" + COMM + "\"/ "
                    "{ @[probe] = count(); }", "-c", f"{sys.executable} {opener} 4 /etc/hostname")
    assert r.returncode == 0, r.stderr
    assert "@[tracepoint:syscalls:sys_enter_openat]: 4\n" in r.stdout
    n = int(r.stderr.split()[1])
    assert n >= 3  # open, openat, openat2, open_by_handle_at, ... (what this kernel has)


def test_dry_run_attaches_nothing() -> None:
    r = pybpf_trace("--dry-run", "-e", "BEGIN { printf(\"x\\n\"); exit(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


def test_debug_prints_instructions_and_log() -> None:
    r = pybpf_trace("-d", "-e", "BEGIN { @ = count(); exit(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("AST\n")
    assert "BEGIN (BEGIN_0," in r.stdout
    assert "call bpf_map_lookup_elem" in r.stdout or "call map_lookup_elem" in r.stdout
    assert "Verifier log of BEGIN_0:" in r.stdout
    assert "processed" in r.stdout  # the kernel's verifier statistics line


def test_list_and_list_verbose() -> None:
    r = pybpf_trace("-l", "tracepoint:syscalls:sys_enter_openat")
    assert r.stdout == "tracepoint:syscalls:sys_enter_openat\n"
    r = pybpf_trace("-lv", "tracepoint:syscalls:sys_enter_openat")
    assert r.stdout.splitlines()[0] == "tracepoint:syscalls:sys_enter_openat"
    assert "    const char * filename" in r.stdout.splitlines()


# -- the Python API -----------------------------------------------------------------------

def test_api_maps_events_stop(opener: str) -> None:
    from pybpf.lang.api import trace

    script = ("tracepoint:syscalls:sys_enter_openat /comm == \"" + COMM + "\"/ "
              "{ @[str(args->filename)] = count(); printf(\"open %s\\n\", comm); }"
              " END { printf(\"end\\n\"); }")
    s = trace(script)
    ids = {p.id for p in s._sess.coll.programs.values()}
    subprocess.run([sys.executable, opener, "6", "/etc/hostname"], check=True)
    deadline = time.monotonic() + 10
    while s.maps["@"].get("/etc/hostname", 0) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.maps["@"] == {"/etc/hostname": 6}
    events = []
    for e in s.events(timeout=5):
        events.append(e)
        if len(events) == 6:
            break
    assert events == [f"open {COMM}\n"] * 6
    final = s.stop()
    assert final == {"@": {"/etc/hostname": 6}}
    assert list(s.events(timeout=1)) == ["end\n"]
    from pybpf.kernel.info import list_progs

    deadline = time.monotonic() + 15  # freed after an RCU grace period: poll, don't race
    while ids & {p.id for p in list_progs()} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ids & {p.id for p in list_progs()}  # nothing of ours left loaded


def test_api_exit_in_script() -> None:
    from pybpf.lang.api import trace

    seen: list[str] = []
    s = trace('interval:ms:10 /@n < 3/ { @n++; printf("tick %d\\n", @n); '
              'if (@n == 3) { exit(); } }'
              ' END { printf("end\\n"); }', on_event=seen.append)
    deadline = time.monotonic() + 10
    while s.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not s.running
    assert s.stop() == {"@n": 3}
    assert "".join(seen) == "tick 1\ntick 2\ntick 3\nend\n"


def test_nothing_left_after_cli(opener: str) -> None:
    """While running, the script's map (a unique name) and its programs exist; after
    the CLI returns, neither does (programs hold their maps, so no map means no program)."""
    from pybpf.kernel.info import list_maps, list_progs

    name = f"lk{COMM}"  # unique to this run, like COMM
    script = ("tracepoint:syscalls:sys_enter_openat /comm == \"" + COMM + "\"/ "
              "{ @" + name + "[comm] = count(); }")
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "trace", "-e", script, "-c",
                          f"{sys.executable} {opener} 2 /etc/hostname 0.5"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    assert p.stderr.readline() == "Attached 1 probe\n"
    live = [m for m in list_maps() if m.name == f"AT_{name}"]
    assert len(live) == 1
    map_id = live[0].id
    prog_ids = {pr.id for pr in list_progs() if map_id in (pr.map_ids or [])}
    assert len(prog_ids) == 1
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert f"@{name}[{COMM}]: 2" in out
    # the kernel frees a released program after an RCU grace period: poll, don't race
    deadline = time.monotonic() + 15
    while map_id in {m.id for m in list_maps()} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert map_id not in {m.id for m in list_maps()}
    assert not prog_ids & {pr.id for pr in list_progs()}


def test_pid_exit_ends_session() -> None:
    """-p PID: the session ends when that process does, maps printed."""
    target = subprocess.Popen(["sleep", "0.5"])
    r = pybpf_trace("-q", "-p", str(target.pid), "-e", "interval:ms:10 { @alive = 1; }")
    target.wait()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n\n@alive: 1\n"


def test_pid_missing_is_one_line() -> None:
    r = pybpf_trace("-p", "999999999", "-e", "interval:ms:10 { @x = 1; }")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("-p 999999999: no such process")
    assert "Traceback" not in r.stderr


def test_child_command_not_found() -> None:
    r = pybpf_trace("-e", "BEGIN { @x = 1; }", "-c", "/nonexistent/cmd arg")
    assert r.returncode == 1
    assert "command not found: /nonexistent/cmd" in r.stderr
    assert "Traceback" not in r.stderr


def test_map_full_warns_once_with_name(tmp_path: Path) -> None:
    """More distinct keys than the map holds: one warning naming the map, exit 0."""
    spin = tmp_path / "spin.py"
    spin.write_text(textwrap.dedent(f"""\
        import os
        with open("/proc/self/comm", "w") as f:
            f.write("{COMM}")
        for _ in range(6000):
            os.getppid()
    """))
    r = pybpf_trace("-q", "-e", "tracepoint:syscalls:sys_enter_getppid /comm == \"" + COMM
                    + "\"/ { @fullmap[nsecs] = 1; @calls = count(); }",
                    "-c", f"{sys.executable} {spin}")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("WARNING: map @fullmap is full (4096 entries)") == 1
    assert "@calls: 6000\n" in r.stdout
    assert "@calls" not in r.stderr


def test_uprobe_on_libc(tmp_path: Path) -> None:
    libc = next((p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6",
                             "/lib64/libc.so.6") if os.path.exists(p)), None)
    if libc is None:
        pytest.skip("no libc.so.6 at a known path")
    work = tmp_path / "gp.py"
    work.write_text(textwrap.dedent(f"""\
        import os
        with open("/proc/self/comm", "w") as f:
            f.write("{COMM}")
        for _ in range(9):
            os.getppid()
    """))
    r = pybpf_trace("-q", "-e", f"uprobe:{libc}:getppid /comm == \"{COMM}\"/ "
                    "{ @[comm] = count(); }", "-c", f"{sys.executable} {work}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"\n\n@[{COMM}]: 9\n"


def test_all_syscall_tracepoints_fast_exit(tmp_path: Path) -> None:
    """sys_enter_*: hundreds of probes attached and released (the slow perf-event closes
    go to a reaper that does not hold our stdout: the pipe reaches EOF), exact counts."""
    from pybpf.kernel.tracefs import list_tracepoints

    n = len(list_tracepoints("syscalls:sys_enter_*"))
    spin = tmp_path / "spin.py"
    spin.write_text(textwrap.dedent(f"""\
        import os
        with open("/proc/self/comm", "w") as f:
            f.write("{COMM}")
        for _ in range(25):
            os.getppid()
    """))
    r = pybpf_trace("-e", "tracepoint:syscalls:sys_enter_* /comm == \"" + COMM + "\"/ "
                    "{ @[probe] = count(); }", "-c", f"{sys.executable} {spin}")
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"Attached {n} probes\n"
    assert "@[tracepoint:syscalls:sys_enter_getppid]: 25\n" in r.stdout
