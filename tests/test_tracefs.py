"""tracefs: format parsing (anywhere), listing/ids/CLI (root with tracefs)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

from pybpf.errors import PybpfError
from pybpf.kernel import tracefs

SAMPLE = """name: sched_process_exec
ID: 312
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;
\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;

print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid
"""


def test_parse_format_fields():
    fmt = tracefs.parse_format(SAMPLE)
    assert fmt.name == "sched_process_exec" and fmt.id == 312
    assert [f.name for f in fmt.fields if f.common] == [
        "common_type", "common_flags", "common_preempt_count", "common_pid"]
    fn, pid, comm, name = fmt.args
    assert (fn.name, fn.type, fn.offset, fn.size, fn.data_loc) == ("filename", "char", 8, 4, True)
    assert fn.is_string and fn.decl == "__data_loc char[] filename"
    assert (pid.type, pid.offset, pid.size, pid.signed) == ("pid_t", 12, 4, True)
    assert (comm.type, comm.array_len, comm.is_string) == ("char[16]", 16, True)
    assert (name.type, name.size, name.is_string) == ("const char *", 8, False)
    assert fmt.field("pid") is pid
    assert fmt.print_fmt.startswith('"filename=%s')
    with pytest.raises(PybpfError, match="no field 'nope'.*filename, pid, comm, name"):
        fmt.field("nope")


def test_read_data_loc():
    fmt = tracefs.parse_format(SAMPLE)
    payload = b"/bin/true\0"
    rec = bytearray(40) + payload
    rec[8:12] = (len(payload) << 16 | 40).to_bytes(4, "little")
    assert tracefs.read_data_loc(bytes(rec), fmt.field("filename")) == payload


@pytest.mark.parametrize("name,expect", [
    ("syscalls:sys_enter_read", ("syscalls", "sys_enter_read")),
    ("syscalls/sys_enter_read", ("syscalls", "sys_enter_read")),
])
def test_split_name(name, expect):
    assert tracefs.split_name(name) == expect


def test_split_name_rejects_bare_word():
    with pytest.raises(PybpfError, match="category:name"):
        tracefs.split_name("sys_enter_read")


@pytest.mark.kernel
def test_list_and_ids_match_tracefs():
    names = tracefs.list_tracepoints("syscalls:sys_enter_*")
    assert len(names) > 100 and all(n.startswith("syscalls:sys_enter_") for n in names)
    assert names == sorted(names)
    assert "syscalls:sys_enter_getpid" in names
    with open(f"{tracefs.root()}/events/syscalls/sys_enter_getpid/id") as f:
        assert tracefs.tracepoint_id("syscalls:sys_enter_getpid") == int(f.read())
    assert tracefs.list_tracepoints("sched_switch") == ["sched:sched_switch"]
    assert tracefs.list_tracepoints("ftrace:*") == []  # not attachable
    fmt = tracefs.tracepoint_format("syscalls:sys_enter_openat")
    assert [f.name for f in fmt.args] == ["__syscall_nr", "dfd", "filename", "flags", "mode"]
    assert fmt.field("filename").offset == 24


@pytest.mark.kernel
def test_unknown_tracepoint():
    with pytest.raises(PybpfError, match="does not exist"):
        tracefs.tracepoint_id("nosuchcat:nosuchevent")


def _cli(*argv: str) -> tuple[int, str]:
    from pybpf.cli.main import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["tracepoints", *argv])
    return code, buf.getvalue()


@pytest.mark.kernel
def test_cli_lists_like_bpftrace():
    code, out = _cli("tracepoint:sched:sched_switch", "-v")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "tracepoint:sched:sched_switch"
    assert "    char prev_comm[16]" in lines and "    pid_t next_pid" in lines
    code, out = _cli("syscalls:sys_enter_*", "--count")
    assert code == 0 and int(out) == len(tracefs.list_tracepoints("syscalls:sys_enter_*"))
    code, out = _cli("sched:sched_process_exec", "-v", "--json")
    row, = json.loads(out)
    assert row["name"] == "tracepoint:sched:sched_process_exec"
    assert row["fields"][0] == {"name": "filename", "type": "char", "offset": 8, "size": 4,
                                "signed": False, "data_loc": True}
    assert _cli("nosuchcat:*")[0] == 1
