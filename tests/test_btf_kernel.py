"""Blobs from BtfBuilder loaded with BPF_BTF_LOAD, read back by bpftool."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator

import pytest

from pybpf.btf import Btf, BtfBuilder, dump_c
from pybpf.btf.jsonfmt import type_raw

BPFTOOL = shutil.which("bpftool") or "/usr/sbin/bpftool"
needs_bpftool = pytest.mark.skipif(not os.path.exists(BPFTOOL), reason="bpftool not installed")
pytestmark = [pytest.mark.kernel, needs_bpftool]


def _load(blob: bytes) -> tuple[int, int]:
    """BPF_BTF_LOAD the blob: (fd, kernel BTF id); the kernel's log on failure."""
    from pybpf.kernel import syscall as sc
    from pybpf.uapi import Cmd

    buf = ctypes.create_string_buffer(blob, len(blob))
    log = ctypes.create_string_buffer(1 << 16)
    attr = sc.BtfLoadAttr(btf=sc.addr_of(buf), btf_size=len(blob), btf_log_buf=sc.addr_of(log),
                          btf_log_size=len(log), btf_log_level=1)
    fd, err = sc.bpf_raw(Cmd.BTF_LOAD, attr)
    assert not err, f"BTF_LOAD failed (errno {err}): {log.value.decode()}"
    info = sc.BtfInfo()
    sc.bpf(Cmd.OBJ_GET_INFO_BY_FD, sc.InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info),
                                                info=sc.addr_of(info)))
    return fd, int(info.id)


def _bpftool(*args: str) -> str:
    return subprocess.run([BPFTOOL, *args], check=True, capture_output=True, text=True).stdout


def _sample() -> tuple[BtfBuilder, dict[str, int]]:
    b = BtfBuilder()
    ids: dict[str, int] = {}
    i32 = b.int_type("int", 4, signed=True)
    u32 = b.int_type("unsigned int", 4)
    u64 = b.int_type("long long unsigned int", 8)
    ch = b.int_type("char", 1, char=True)
    ids["key"] = b.c_struct("event_key", [("pid", u32), ("cpu", u32)])
    state = b.enum("state", {"IDLE": 0, "BUSY": 1, "GONE": -1})
    ids["val"] = b.c_struct("event_val", [
        ("comm", b.array(ch, 16)), ("count", u64), ("state", state), ("ok", b.int_type(
            "_Bool", 1, bool_=True))])
    ids["bits"] = b.struct("bits", 4, [("a", u32, 0, 4), ("b", u32, 4, 12)])
    ids["u"] = b.union("either", 8, [("i", i32, 0), ("l", u64, 0)])
    proto = b.func_proto(i32, [("ctx", b.ptr(0))])
    ids["func"] = b.func("handle", proto)
    ids["tdef"] = b.typedef("handler_t", b.ptr(proto))
    var = b.var("hits", u64)
    ids["sec"] = b.datasec(".bss", [(var, 0, 8)])
    ids["float"] = b.float_type("double", 8)
    ids["e64"] = b.enum64("wide", [("W", 1 << 40)])
    ids["tag"] = b.decl_tag("tagged", ids["func"])
    return b, ids


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Btf, dict[str, int], int]]:
    b, ids = _sample()
    blob = b.encode()
    fd, btf_id = _load(blob)
    try:
        yield Btf(blob, name="sample"), ids, btf_id
    finally:
        os.close(fd)


def test_kernel_accepts_and_bpftool_reads_raw(loaded: tuple[Btf, dict[str, int], int]) -> None:
    btf, _ids, btf_id = loaded
    want = _bpftool("btf", "dump", "id", str(btf_id))
    got = "".join(type_raw(btf, i) + "\n" for i in range(1, btf.nr_types))
    assert got == want


def test_bpftool_c_matches_ours(loaded: tuple[Btf, dict[str, int], int]) -> None:
    btf, ids, btf_id = loaded
    text = _bpftool("btf", "dump", "id", str(btf_id), "format", "c")
    for key in ("key", "val", "bits", "u", "tdef"):
        assert "\n\n" + dump_c(btf, ids[key]) + "\n" in text, key


def test_cli_reads_kernel_btf_by_id(loaded: tuple[Btf, dict[str, int], int],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from pybpf.cli.main import main

    _btf, _ids, btf_id = loaded
    for fmt in ("raw", "c"):
        assert main(["btf", "dump", "--btf-id", str(btf_id), "--format", fmt]) == 0
        assert capsys.readouterr().out == _bpftool("btf", "dump", "id", str(btf_id), "format",
                                                   fmt)
    assert main(["btf", "dump", "--btf-id", "999999999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pybpf btf: ") and err.count("\n") == 1


def test_whole_header_matches_bpftool(loaded: tuple[Btf, dict[str, int], int]) -> None:
    from pybpf.btf.cheader import dump_header

    btf, _ids, btf_id = loaded
    assert dump_header(btf) == _bpftool("btf", "dump", "id", str(btf_id), "format", "c")


def test_map_with_btf_types_pretty_prints(loaded: tuple[Btf, dict[str, int], int]) -> None:
    """The reason maps carry BTF: bpftool shows keys and values as structs."""
    from pybpf.kernel import syscall as sc
    from pybpf.uapi import Cmd, MapType

    btf, ids, btf_id = loaded
    btf_fd = int(sc.bpf(Cmd.BTF_GET_FD_BY_ID, sc.GetIdAttr(start_id=btf_id)))
    try:
        attr = sc.MapCreateAttr(map_type=MapType.HASH, key_size=btf.size(ids["key"]),
                                value_size=btf.size(ids["val"]), max_entries=4,
                                map_name=b"btf_test", btf_fd=btf_fd,
                                btf_key_type_id=ids["key"], btf_value_type_id=ids["val"])
        map_fd = sc.bpf(Cmd.MAP_CREATE, attr)
    finally:
        os.close(btf_fd)
    try:
        key = struct.pack("<II", 42, 3)
        val = b"pybpf".ljust(16, b"\0") + struct.pack("<QiB", 7, -1, 1).ljust(16, b"\0")
        kb = ctypes.create_string_buffer(key, len(key))
        vb = ctypes.create_string_buffer(val, len(val))
        sc.bpf(Cmd.MAP_UPDATE_ELEM, sc.MapElemAttr(map_fd=map_fd, key=sc.addr_of(kb),
                                                   value=sc.addr_of(vb)))
        info = sc.MapInfo()
        sc.bpf(Cmd.OBJ_GET_INFO_BY_FD, sc.InfoAttr(bpf_fd=map_fd, info_len=ctypes.sizeof(info),
                                                    info=sc.addr_of(info)))
        dumped = json.loads(_bpftool("-j", "map", "dump", "id", str(info.id)))
        assert dumped[0]["formatted"]["key"] == {"pid": 42, "cpu": 3}
        v = dumped[0]["formatted"]["value"]
        assert (v["comm"], v["count"], v["state"], v["ok"]) == ("pybpf", 7, "GONE", True)
    finally:
        os.close(map_fd)


def test_program_carries_func_and_line_info() -> None:
    """func_info/line_info encoded here are accepted by the verifier and shown by bpftool."""
    from pybpf.btf import LineInfo, encode_func_info, encode_line_info
    from pybpf.btf.format import FUNC_INFO, LINE_INFO
    from pybpf.kernel import syscall as sc
    from pybpf.uapi import Cmd, ProgType

    b = BtfBuilder()
    i32 = b.int_type("int", 4, signed=True)
    ctx = b.ptr(b.struct("__sk_buff", 0, []))
    main_fn = b.func("btf_main", b.func_proto(i32, [("skb", ctx)]))
    src, text0, text1 = "prog.c", "int v = 7;", "return v;"
    lines = [LineInfo(0, b.add_string(src), b.add_string(text0), 3, 5),
             LineInfo(1, b.add_string(src), b.add_string(text1), 4, 2)]
    fd, _btf_id = _load(b.encode())
    insns = struct.pack("<BBhi", 0xB7, 0, 0, 7) + struct.pack("<BBhi", 0x95, 0, 0, 0)  # r0=7; exit
    finfo, linfo = encode_func_info([(0, main_fn)]), encode_line_info(lines)
    bufs = [ctypes.create_string_buffer(x, len(x)) for x in (insns, b"GPL\0", finfo, linfo)]
    log = ctypes.create_string_buffer(1 << 16)
    attr = sc.ProgLoadAttr(
        prog_type=ProgType.SOCKET_FILTER, insn_cnt=2, insns=sc.addr_of(bufs[0]),
        license=sc.addr_of(bufs[1]), log_level=1, log_size=len(log), log_buf=sc.addr_of(log),
        prog_name=b"btf_main", prog_btf_fd=fd, func_info_rec_size=FUNC_INFO.size,
        func_info=sc.addr_of(bufs[2]), func_info_cnt=1, line_info_rec_size=LINE_INFO.size,
        line_info=sc.addr_of(bufs[3]), line_info_cnt=2)
    prog_fd, err = sc.bpf_raw(Cmd.PROG_LOAD, attr)
    os.close(fd)
    assert not err, log.value.decode()
    try:
        info = sc.ProgInfo()
        sc.bpf(Cmd.OBJ_GET_INFO_BY_FD, sc.InfoAttr(bpf_fd=prog_fd, info_len=ctypes.sizeof(info),
                                                    info=sc.addr_of(info)))
        out = _bpftool("prog", "dump", "xlated", "id", str(info.id), "linum")
        assert "int btf_main(struct __sk_buff * skb):" in out
        assert f"; {text0} [file:{src} line_num:3 line_col:5]" in out
        assert f"; {text1} [file:{src} line_num:4 line_col:2]" in out
    finally:
        os.close(prog_fd)


def test_patched_object_btf_loads(tmp_path: os.PathLike[str]) -> None:
    """An object's raw .BTF is refused (DATASEC sizes are 0); patched, the kernel takes it."""
    from pybpf.btf import Kind, load_object_btf
    from pybpf.btf.fixup import patch_datasecs
    from pybpf.kernel import syscall as sc
    from pybpf.uapi import Cmd

    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang not installed")
    src = os.path.join(tmp_path, "g.c")
    obj = os.path.join(tmp_path, "g.o")
    with open(src, "w") as f:
        f.write("int counter = 1;\nlong total = 2;\n"
                "__attribute__((section(\"xdp\"), used)) int prog(void *ctx) "
                "{ return counter + total; }\n")
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", "-c", src, "-o", obj], check=True)
    btf, _ = load_object_btf(obj)
    raw = btf.raw
    buf = ctypes.create_string_buffer(raw, len(raw))
    _fd, err = sc.bpf_raw(Cmd.BTF_LOAD, sc.BtfLoadAttr(btf=sc.addr_of(buf), btf_size=len(raw)))
    assert err == 22  # EINVAL: variables lie outside a 0-byte DATASEC
    sec = btf[btf.find(".data", Kind.DATASEC)]
    assert [btf[v.type].name for v in sec.vars] == ["counter", "total"]  # type: ignore[attr-defined]
    fd, _id = _load(patch_datasecs(btf, {".data": 16}, {"counter": 0, "total": 8}))
    os.close(fd)
