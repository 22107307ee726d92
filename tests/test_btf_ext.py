"""``.BTF`` and ``.BTF.ext`` of objects: a clang-built one when clang is here, and
hand-made blobs for the error paths."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pybpf.btf import BtfBuilder, Kind
from pybpf.btf.ext import CoreReloKind, load_object_btf, parse_btf_ext
from pybpf.btf.parse import Btf, BtfError

SOURCE = """\
struct task_struct { int pid; struct task_struct *real_parent; }
    __attribute__((preserve_access_index));
int glob = 3;
__attribute__((section("tracepoint/x"), used)) int handler(struct task_struct *t)
{
    return t->real_parent->pid + glob;
}
char LICENSE[] __attribute__((section("license"))) = "GPL";
"""


@pytest.fixture(scope="module")
def clang_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("obj")
    (d / "t.c").write_text(SOURCE)
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", "-c", str(d / "t.c"), "-o",
                    str(d / "t.o")], check=True, capture_output=True)
    return d / "t.o"


def test_clang_object(clang_object: Path) -> None:
    btf, ext = load_object_btf(str(clang_object))
    assert ext is not None
    handler = btf.find("handler", Kind.FUNC)
    assert ext.func_info == {"tracepoint/x": [type(ext.func_info["tracepoint/x"][0])(0, handler)]}
    lines = ext.line_info["tracepoint/x"]
    want_line = SOURCE.splitlines().index("    return t->real_parent->pid + glob;") + 1
    assert {r.line for r in lines} == {want_line}
    assert lines[0].line_text.strip() == "return t->real_parent->pid + glob;"
    assert lines[0].file_name.endswith("t.c")
    relos = ext.core_relos["tracepoint/x"]
    task = btf.find("task_struct", Kind.STRUCT)
    fields = [btf[task].members[r.access_indexes[1]].name for r in relos]  # type: ignore[attr-defined]
    assert all(r.type_id == task and r.kind == CoreReloKind.FIELD_BYTE_OFFSET for r in relos)
    assert fields == ["real_parent", "pid"]
    assert btf.member_path("task_struct", "real_parent.pid").derefs == (8,)


def _ext_blob(btf_b: BtfBuilder, sec: str, funcs: list[tuple[int, int]]) -> bytes:
    sec_off = btf_b.add_string(sec)
    body = struct.pack("<I", 8) + struct.pack("<II", sec_off, len(funcs))
    body += b"".join(struct.pack("<II", off * 8, tid) for off, tid in funcs)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), len(body), 0)
    return hdr + body


def test_hand_made_ext_and_errors() -> None:
    b = BtfBuilder()
    i = b.int_type("int", 4, signed=True)
    f = b.func("main", b.func_proto(i, []))
    blob = _ext_blob(b, "xdp", [(0, f), (12, f)])
    btf = Btf(b.encode())
    ext = parse_btf_ext(blob, btf)
    assert [(r.insn, r.type_id) for r in ext.func_info["xdp"]] == [(0, f), (12, f)]
    assert ext.line_info == {} and ext.core_relos == {}
    with pytest.raises(BtfError, match="outside the .BTF.ext data"):
        parse_btf_ext(blob[:-4], btf, "t.o: .BTF.ext")
    short = blob[:8] + struct.pack("<IIII", 0, 16, 16, 0) + blob[24:40]  # claims 2 records
    with pytest.raises(BtfError, match="claims 2 records past the end"):
        parse_btf_ext(short, btf)
    with pytest.raises(BtfError, match="bad .BTF.ext magic"):
        parse_btf_ext(b"\0" * 24, btf)


def test_patch_datasecs_from_clang_object(clang_object: Path) -> None:
    """clang leaves DATASEC sizes 0; patched, the kernel-facing values are the ELF's."""
    from pybpf.btf.fixup import patch_datasecs

    btf, _ = load_object_btf(str(clang_object))
    data_sec = btf[btf.find(".data", Kind.DATASEC)]
    assert data_sec.size == 0  # type: ignore[attr-defined]
    patched = Btf(patch_datasecs(btf, {".data": 4, "license": 4}, {"glob": 0, "LICENSE": 0}))
    assert patched[data_sec.id].size == 4  # type: ignore[attr-defined]
    assert patched[patched.find("license", Kind.DATASEC)].size == 4  # type: ignore[attr-defined]
    assert patched.nr_types == btf.nr_types and patched.find("glob") == btf.find("glob")
    with pytest.raises(Exception, match="'glob' has no symbol"):
        patch_datasecs(btf, {".data": 4}, {})
