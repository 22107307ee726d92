"""Codegen checked by running compiled scripts in the vm with synthetic contexts,
plus (kernel-marked) verifier acceptance of the same programs."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.kernel.tracefs import parse_format
from pybpf.lang.codegen import compile_script
from pybpf.lang.errors import CompileError
from pybpf.lang.runtime import run_vm
from pybpf.uapi import MapType, ProgType

OPENAT_FORMAT = """name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:48;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:64;\tsize:4;\tsigned:0;
\tfield:int delta;\toffset:68;\tsize:4;\tsigned:1;

print fmt: "x"
"""


def fmt(name: str):  # type: ignore[no-untyped-def]
    assert name == "syscalls:sys_enter_openat"
    return parse_format(OPENAT_FORMAT, name)


def openat_ctx(dfd: int, flags: int, comm: bytes, name: bytes, delta: int) -> bytes:
    rec = bytearray(72)
    struct.pack_into("<HBBi", rec, 0, 1, 0, 0, 42)
    struct.pack_into("<qQQQ", rec, 16, dfd, 0, flags, 0o644)
    rec[48:48 + len(comm)] = comm
    struct.pack_into("<Ii", rec, 64, (len(name) + 1) << 16 | 72, delta)
    return bytes(rec + name + b"\0")


def run(src: str, fires: list[tuple[str, bytes]] = (), **kw):  # type: ignore[no-untyped-def]
    script = compile_script(src, tracepoint_format=fmt, params=kw.pop("params", None))
    return script, run_vm(script, fires, **kw)


def test_tracepoint_args_and_predicate() -> None:
    src = r"""
tracepoint:syscalls:sys_enter_openat /args.flags != 0/ {
  @flags[args.dfd, args.comm] = count();
  @names[args.name] = sum(args.delta);
  printf("%d %s %s %d\n", args.flags, args.comm, args.name, args.delta);
}"""
    script = compile_script(src, tracepoint_format=fmt)
    prog = script.programs[0]
    assert prog.name == "tp_0"
    ps = script.spec.programs["tp_0"]
    assert ps.type == ProgType.TRACEPOINT and ps.attach_to == "syscalls/sys_enter_openat"
    fires = [(prog.name, openat_ctx(-100, 2, b"cat", b"data.txt", -5)),
             (prog.name, openat_ctx(-100, 0, b"cat", b"skip", 1)),
             (prog.name, openat_ctx(3, 1, b"ls", b"data.txt", 7))]
    out = run_vm(script, fires)
    assert out == (
        "Attaching 1 probe...\n"
        "2 cat data.txt -5\n"
        "1 ls data.txt 7\n"
        "\n\n"
        "@flags[-100, cat]: 1\n"
        "@flags[3, ls]: 1\n"
        "@names[data.txt]: 2\n")


def test_unknown_tracepoint_field_is_a_compile_error() -> None:
    with pytest.raises(CompileError) as info:
        compile_script("t:syscalls:sys_enter_openat { @ = args.nosuch; }",
                       tracepoint_format=fmt)
    assert "Can't find a field nosuch" in info.value.text


def test_percpu_aggregations_combine_cpus() -> None:
    src = "BEGIN { @c = count(); @s = sum(5); @m = max(cpu); @h = hist(8); @a = avg(10); }"
    script = compile_script(src, tracepoint_format=None)
    kinds = {m.name: script.spec.maps[m.bpf_name].type for m in script.maps.values()}
    assert set(kinds.values()) == {MapType.PERCPU_HASH}
    coll = script.spec.load(backend="vm", ncpus=2)
    try:
        from pybpf.lang.runtime import Session

        sess = Session(script, coll.maps)
        prog = coll.programs["BEGIN_0"]
        for cpu in (0, 1, 1):
            prog.cpu = cpu
            prog.test_run(ctx=bytes(64))
        entries = {m: sess.dec.entries(meta, coll.maps[meta.bpf_name])
                   for m, meta in script.maps.items()}
    finally:
        coll.close()
    assert entries["@c"] == [((), 3)]
    assert entries["@s"] == [((), 15)]
    assert entries["@m"] == [((), 1)]
    assert entries["@h"][0][1].buckets == {5: 3}  # [8, 16) is bucket 5
    assert entries["@a"][0][1].average == 10 and entries["@a"][0][1].count == 3


def test_probe_builtin_multiple_attach_points_and_params() -> None:
    src = 'BEGIN, END { @[probe] = count(); printf("%s %d %s %d\\n", probe, $1, $2, $#); }'
    script, out = run(src, params=["7", "word"])
    assert [p.probe.provider for p in script.programs] == ["BEGIN", "END"]
    assert out == ("Attaching 2 probes...\nBEGIN 7 word 2\nEND 7 word 2\n\n\n"
                   "@[BEGIN]: 1\n@[END]: 1\n")


def test_task_builtins_and_elapsed() -> None:
    src = ('BEGIN { printf("%d %d %d %d %s\\n", pid, tid, uid, gid, comm); '
           '@e = elapsed < 1000000000; @n = nsecs > 0; }')
    script, out = run(src, task={"pid": 77, "tgid": 66, "uid": 1000, "gid": 100,
                                 "comm": "worker"})
    assert script.needs_globals
    assert out.splitlines()[1] == "66 77 1000 100 worker"
    assert "@e: 1\n" in out and "@n: 1\n" in out


def test_json_output() -> None:
    src = ('BEGIN { @c[1] = count(); @h = lhist(5, 0, 10, 5); printf("x %d\\n", 1); '
           'print((1, "a")); exit(); }')
    _, out = run(src, fmt="json")
    assert out.splitlines() == [
        '{"type": "attached_probes", "data": {"probes": 1}}',
        '{"type": "printf", "data": "x 1\\n"}',
        '{"type": "value", "data": [1,"a"]}',
        "", "",
        '{"type": "map", "data": {"@c": {"1": 1}}}',
        '{"type": "hist", "data": {"@h": [{"min": 5, "max": 9, "count": 1}]}}',
    ]


def test_exit_stops_later_probes_and_events() -> None:
    src = ('BEGIN { printf("a\\n"); exit(); printf("b\\n"); } '
           't:syscalls:sys_enter_openat { printf("never\\n"); } END { printf("end\\n"); }')
    script = compile_script(src, tracepoint_format=fmt)
    out = run_vm(script, [("tp_1", openat_ctx(1, 1, b"x", b"y", 0))])
    assert out == "Attaching 3 probes...\na\nend\n\n\n"


def test_variable_strings_ternary_and_compare() -> None:
    src = r"""BEGIN {
      $s = "short"; $s = "a longer string";
      $t = pid > 10 ? "big" : "small";
      @r[$s, $t] = 1;
      if ($t == "big") { @big = 1; }
      if ("ab" == "abc") { @wrong = 1; }
      if (comm == "worker") { @w = 1; }
    }"""
    _, out = run(src, task={"tgid": 50, "comm": "worker"})
    assert "@r[a longer string, big]: 1\n" in out
    assert "@big: 1\n" in out and "@w: 1\n" in out and "@wrong" not in out


def test_unsupported_constructs_fail_cleanly() -> None:
    with pytest.raises(CompileError) as info:
        compile_script("kprobe:f { @m[1] = 1; for ($kv : @m) { @x = arg0; } }",
                       tracepoint_format=None)
    assert info.value.text.startswith("stdin:1:")
    assert "for loop over a map" in info.value.text


CASES = Path(__file__).parent / "lang_cases"


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(p.name for p in CASES.glob("*.bt")))
def test_kernel_verifier_accepts_case(name: str) -> None:
    script = compile_script((CASES / name).read_text(), name, tracepoint_format=None)
    coll = script.spec.load(backend="kernel")
    coll.close()


@pytest.mark.kernel
def test_kernel_verifier_accepts_tracepoint_program() -> None:
    src = ('tracepoint:syscalls:sys_enter_openat /comm != "x"/ { '
           '@[comm, str(args.filename)] = count(); @f = lhist(args.flags, 0, 100, 10); '
           'printf("%s %d\\n", comm, elapsed); }')
    script = compile_script(src)
    coll = script.spec.load(backend="kernel")
    coll.close()


@pytest.mark.kernel
def test_kernel_btf_struct_members() -> None:
    import subprocess
    import sys

    src = ('BEGIN { $t = (struct task_struct *)curtask; '
           'printf("%d %d %d %d\\n", $t->tgid == pid, curtask->comm == comm, '
           'curtask->real_parent->tgid > 0, sizeof(struct task_struct) > 1000); exit(); }')
    r = subprocess.run([sys.executable, "-m", "pybpf", "trace", "-e", src],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "1 1 1 1\n" in r.stdout


def test_struct_errors_name_the_type() -> None:
    with pytest.raises(CompileError) as info:
        compile_script("BEGIN { $x = (struct nosuch *)1; }", tracepoint_format=None)
    assert info.value.text.splitlines()[0] == (
        "stdin:1:14-31: ERROR: Unknown struct/union: 'struct nosuch'")


def test_time_event_text_and_json() -> None:
    _, out = run('BEGIN { time("%Y|"); exit(); }')
    import time as _time

    year = _time.strftime("%Y")
    assert out.startswith(f"Attaching 1 probe...\n{year}|")
    _, js = run('BEGIN { time("%Y\\n"); exit(); }', fmt="json")
    assert js.splitlines()[1] == f'{{"type": "time", "data": "{year}\\n"}}'


def test_string_positional_parameters() -> None:
    src = 'BEGIN { printf("%s|%s|%d\\n", str($1), str($2), $2); @[str($1)] = 1; exit(); }'
    _, out = run(src, params=["abc", "12"])
    # the same text bpftrace 0.17 prints for `bpftrace -e '...' abc 12`
    assert out == "Attaching 1 probe...\nabc|12|12\n\n\n@[abc]: 1\n"


def test_has_key_delete_and_ranges() -> None:
    src = ('BEGIN { @m[1] = 5; @m[2] = 6; delete(@m, 1); '
           'printf("%d %d\\n", has_key(@m, 1), has_key(@m, 2)); '
           '@t[1, "a"] = 1; printf("%d\\n", has_key(@t, (1, "a"))); '
           '$i = 0; for ($j : 0..4) { $i += $j; } printf("%d\\n", $i); exit(); }')
    _, out = run(src)
    assert out.splitlines()[1:4] == ["0 1", "1", "6"]
    assert "@m[2]: 6\n" in out and "@m[1]" not in out


@pytest.mark.kernel
def test_ksym_decoding_uses_kallsyms() -> None:
    from pybpf.lang.runtime import Decoder
    from pybpf.symbols import kallsyms

    addr = kallsyms().address("schedule")
    if not addr:
        pytest.skip("kallsyms addresses are hidden")
    script = compile_script("BEGIN { @ = 1; }", tracepoint_format=None)
    assert Decoder(script).symbol(addr) == "schedule"


def test_wildcard_expansion_one_program_each_and_missing_fields_skip() -> None:
    from pybpf.lang.probes import ProbeSpec

    other = OPENAT_FORMAT.replace("sys_enter_openat", "sys_enter_open_tree").replace(
        "\tfield:int flags;", "\tfield:int other;")

    def formats(name: str):  # type: ignore[no-untyped-def]
        return parse_format(OPENAT_FORMAT if name.endswith("openat") else other, name)

    def expand(spec: ProbeSpec) -> list[ProbeSpec]:
        return [ProbeSpec("tracepoint", "syscalls", n, raw=f"tracepoint:syscalls:{n}")
                for n in ("sys_enter_openat", "sys_enter_open_tree")]

    script = compile_script("t:syscalls:sys_enter_open* { @[probe] = sum(args.flags); }",
                            tracepoint_format=formats, expand=expand)
    assert [p.probe.func for p in script.programs] == ["sys_enter_openat"]
    script = compile_script("t:syscalls:sys_enter_open* { @[probe] = count(); }",
                            tracepoint_format=formats, expand=expand)
    assert script.probe_names == ["tracepoint:syscalls:sys_enter_openat",
                                  "tracepoint:syscalls:sys_enter_open_tree"]
    out = run_vm(script, [("tp_1", bytes(80)), ("tp_0", bytes(80)), ("tp_1", bytes(80))])
    assert ("@[tracepoint:syscalls:sys_enter_openat]: 1\n"
            "@[tracepoint:syscalls:sys_enter_open_tree]: 2\n") in out


@pytest.mark.kernel
def test_kernel_accepts_variables_set_on_one_path_and_loops() -> None:
    src = ('BEGIN { if (pid > 1) { $x = 1; $s = "a"; } printf("%d %s\\n", $x, $s); '
           '$i = 0; while ($i < 50) { $i++; @h = hist($i); if ($i == 40) { break; } } '
           'unroll(20) { printf("%s %d\\n", comm, $i); } exit(); }')
    script = compile_script(src, tracepoint_format=None)
    # temporaries are reused: everything fits the 512-byte stack, no scratch map is made
    assert "scratch" not in script.spec.maps
    script.spec.load(backend="kernel").close()
