"""The running kernel's BTF against bpftool's reading of the same file.

Reading /sys/kernel/btf/vmlinux needs no privilege, so these are not kernel tests;
they skip when the file or bpftool is missing. Expected values come from bpftool
in the same run, never from constants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from pybpf.btf import Btf, Kind, dump_c, type_json, vmlinux
from pybpf.btf.jsonfmt import type_raw

VMLINUX = "/sys/kernel/btf/vmlinux"
BPFTOOL = shutil.which("bpftool") or "/usr/sbin/bpftool"
pytestmark = [
    pytest.mark.skipif(not os.path.exists(VMLINUX), reason="no /sys/kernel/btf/vmlinux"),
    pytest.mark.skipif(not os.path.exists(BPFTOOL), reason="bpftool not installed"),
]


def _bpftool(*args: str) -> str:
    return subprocess.run([BPFTOOL, *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def ref_c() -> dict[tuple[str, str], str]:
    """bpftool's vmlinux.h split into definition blocks, keyed by (keyword, name)."""
    text = _bpftool("btf", "dump", "file", VMLINUX, "format", "c")
    out = {}
    for blk in text.split(";\n\n"):
        blk = blk.strip("\n")
        m = re.match(r"(struct|union|enum) (\w+) \{", blk)
        if m and "___" not in blk:  # bpftool renames duplicates name___N across the file
            out[(m.group(1), m.group(2))] = blk + ";\n"
    return out


@pytest.fixture(scope="module")
def ref_json() -> list[dict]:
    return json.loads(_bpftool("-j", "btf", "dump", "file", VMLINUX))["types"]


@pytest.fixture(scope="module")
def btf() -> Btf:
    return vmlinux()


_KW = {"struct": Kind.STRUCT, "union": Kind.UNION, "enum": Kind.ENUM}


@pytest.mark.parametrize("kw,name", [
    ("struct", "task_struct"), ("struct", "sk_buff"), ("struct", "mm_struct"),
    ("struct", "list_head"), ("union", "bpf_attr"), ("enum", "bpf_prog_type"),
    ("struct", "file"), ("struct", "trace_event_raw_sched_switch"),
])
def test_dump_c_matches_bpftool(btf: Btf, ref_c: dict[tuple[str, str], str], kw: str,
                                name: str) -> None:
    want = ref_c[(kw, name)]
    assert dump_c(btf, btf.find(name, _KW[kw])) == want


def test_dump_c_matches_bpftool_on_a_wide_sample(
        btf: Btf, ref_c: dict[tuple[str, str], str]) -> None:
    keys = sorted(ref_c)[::7]  # ~1600 definitions: padding, bitfields, packing, nesting
    assert len(keys) > 500
    bad = []
    for kw, name in keys:
        ids = btf.find_all(name, _KW[kw]) or btf.find_all(name, Kind.ENUM64)
        if dump_c(btf, ids[0]) != ref_c[(kw, name)]:
            bad.append(f"{kw} {name}")
    assert bad == []


def test_whole_vmlinux_h_matches_bpftool(btf: Btf) -> None:
    """Ordering, forward declarations and ___N renames over all ~125k types."""
    from pybpf.btf.cheader import dump_header

    want = _bpftool("btf", "dump", "file", VMLINUX, "format", "c")
    got = dump_header(btf)
    if got != want:  # show the first differing line, not a 2.8 MB diff
        for i, (a, b) in enumerate(zip(got.splitlines(), want.splitlines(), strict=False)):
            assert a == b, f"line {i + 1}"
    assert got == want


def test_raw_format_matches_bpftool(btf: Btf) -> None:
    lines = _bpftool("btf", "dump", "file", VMLINUX).splitlines()
    want = {}  # id -> record text (header line plus its indented member lines)
    cur = -1
    for line in lines:
        if line.startswith("["):
            cur = int(line[1:line.index("]")])
            want[cur] = [line]
        else:
            want[cur].append(line)
    assert len(want) == btf.nr_types - 1
    for tid in list(range(1, 3000)) + list(range(3000, btf.nr_types, 41)):
        assert type_raw(btf, tid) == "\n".join(want[tid]), tid


def test_json_matches_bpftool(btf: Btf, ref_json: list[dict]) -> None:
    checked = 0
    for ref in ref_json[::13]:
        if ref["kind"] == "ENUM" and any(v["val"] >= 1 << 32 for v in ref["values"]):
            continue  # bpftool 7.1 sign-extends unsigned 32-bit enum values in JSON
        assert type_json(btf, ref["id"]) == ref
        checked += 1
    assert checked > 5000


def test_member_path_agrees_with_bpftool(btf: Btf, ref_json: list[dict]) -> None:
    by_id = {t["id"]: t for t in ref_json}
    task = next(t for t in ref_json if t["kind"] == "STRUCT" and t["name"] == "task_struct")
    rp = next(m for m in task["members"] if m["name"] == "real_parent")
    pid = next(m for m in task["members"] if m["name"] == "pid")
    f = btf.member_path("task_struct", "real_parent.pid")
    assert f.derefs == (rp["bits_offset"] // 8,)
    assert f.bit_offset == pid["bits_offset"] and f.type == pid["type_id"]
    assert by_id[f.type]["name"] == "pid_t"
    assert btf.size(f.type) == 4
    comm = next(m for m in task["members"] if m["name"] == "comm")
    f = btf.member_path("task_struct", "comm[2]")
    assert f.offset == comm["bits_offset"] // 8 + 2 and btf.type_name(f.type) == "char"


def test_bitfield_members_agree_with_bpftool(btf: Btf, ref_json: list[dict]) -> None:
    task = next(t for t in ref_json if t["kind"] == "STRUCT" and t["name"] == "task_struct")
    bitfields = [m for m in task["members"] if "bitfield_size" in m]
    assert bitfields
    for m in bitfields:
        f = btf.member(btf.find("task_struct", Kind.STRUCT), m["name"])
        assert (f.bit_offset, f.bitfield_size) == (m["bits_offset"], m["bitfield_size"])


def test_raw_tracepoint_prototype(btf: Btf, ref_json: list[dict]) -> None:
    by_id = {t["id"]: t for t in ref_json}
    tdef = next(t for t in ref_json if t["kind"] == "TYPEDEF"
                and t["name"] == "btf_trace_sched_switch")
    proto = by_id[by_id[tdef["type_id"]]["type_id"]]
    p = btf.func_proto("btf_trace_sched_switch")
    assert p.id == proto["id"] and [x.type for x in p.params] == [
        x["type_id"] for x in proto["params"]]
    assert btf.type_name(p.params[2].type) == "struct task_struct *"


def test_fresh_lookup_is_lazy() -> None:
    b = Btf.from_file(VMLINUX)
    tid = b.find("task_struct", Kind.STRUCT)
    assert b[tid].name == "task_struct"
    assert len(b._cache) < 50  # decoded: the match and nothing else of ~100k types
    assert b._next < len(b._w)  # the record index stops at the match


def test_vmlinux_is_cached(btf: Btf) -> None:
    assert vmlinux() is btf
