"""The ctypes mirror of ``union bpf_attr`` and the info structs matches linux/bpf.h, and
errno → message mapping and verifier-log parsing work (no privileges needed)."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
from typing import Any

import pytest

from pybpf.kernel import syscall as sc

HEADER = "/usr/include/linux/bpf.h"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

# (our struct, C type, member prefix in that C type)
LAYOUTS = [
    (sc.MapCreateAttr, "union bpf_attr", ""),
    (sc.MapElemAttr, "union bpf_attr", ""),
    (sc.MapBatchAttr, "union bpf_attr", "batch."),
    (sc.ProgLoadAttr, "union bpf_attr", ""),
    (sc.ObjAttr, "union bpf_attr", ""),
    (sc.ProgAttachAttr, "union bpf_attr", ""),
    (sc.TestRunAttr, "union bpf_attr", "test."),
    (sc.GetIdAttr, "union bpf_attr", ""),
    (sc.InfoAttr, "union bpf_attr", "info."),
    (sc.ProgQueryAttr, "union bpf_attr", "query."),
    (sc.RawTracepointAttr, "union bpf_attr", "raw_tracepoint."),
    (sc.BtfLoadAttr, "union bpf_attr", ""),
    (sc.TaskFdQueryAttr, "union bpf_attr", "task_fd_query."),
    (sc.LinkUpdateAttr, "union bpf_attr", "link_update."),
    (sc.IterCreateAttr, "union bpf_attr", "iter_create."),
    (sc.ProgBindMapAttr, "union bpf_attr", "prog_bind_map."),
    (sc.ProgInfo, "struct bpf_prog_info", ""),
    (sc.MapInfo, "struct bpf_map_info", ""),
    (sc.BtfInfo, "struct bpf_btf_info", ""),
]
# Fields newer than the installed header (each names its kernel version in syscall.py).
NEWER = {"value_type_btf_obj_fd", "map_token_fd", "log_true_size", "prog_token_fd",
         "fd_array_cnt", "path_fd", "relative_fd", "expected_revision", "link_ids",
         "link_attach_flags", "revision", "cookie", "btf_log_true_size", "btf_flags",
         "btf_token_fd", "btf_vmlinux_id", "gpl_compatible"}


def _walk(cls: Any, path: str) -> tuple[int, int]:
    """Offset and size of a dotted field path through nested ctypes structures/unions."""
    off = size = 0
    for part in path.split("."):
        f = getattr(cls, part)
        off, size = off + f.offset, f.size
        cls = {n: t for n, t, *_ in cls._fields_}[part]
    return off, size


def _fields() -> list[tuple[str, str, int, int]]:
    """(C expression, our name, our offset, our size) for every field the header has."""
    out = []
    for cls, ctype, prefix in LAYOUTS:
        for name, *_ in cls._fields_:
            if name.startswith("_") or name in NEWER:
                continue
            f = getattr(cls, name)
            if cls is sc.RawTracepointAttr and name == "cookie":
                continue
            out.append((f"{ctype}, {prefix}{name}", f"{cls.__name__}.{name}", f.offset, f.size))
    link = {"prog_fd": "prog_fd", "target_fd": "target_fd", "attach_type": "attach_type",
            "flags": "flags", "target_btf_id": "u.target_btf_id", "iter_info": "u.iter.iter_info",
            "iter_info_len": "u.iter.iter_info_len",
            "perf_event.bpf_cookie": "u.perf_event.bpf_cookie",
            "kprobe_multi.flags": "u.kprobe_multi.flags", "kprobe_multi.cnt": "u.kprobe_multi.cnt",
            "kprobe_multi.syms": "u.kprobe_multi.syms",
            "kprobe_multi.cookies": "u.kprobe_multi.cookies",
            "tracing.target_btf_id": "u.tracing.target_btf_id",
            "tracing.cookie": "u.tracing.cookie"}
    for c_name, path in link.items():
        off, size = _walk(sc.LinkCreateAttr, path)
        out.append((f"union bpf_attr, link_create.{c_name}", f"LinkCreateAttr.{path}", off, size))
    return out


@pytest.mark.skipif(not (CC and os.path.exists(HEADER)), reason="needs a C compiler and bpf.h")
def test_struct_layouts_match_uapi_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fields = _fields()
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <linux/bpf.h>",
             "#define SZ(t, m) sizeof(((t *)0)->m)", "int main(void) {"]
    for expr, _, _, _ in fields:
        t, m = expr.split(", ")
        lines.append(f'  printf("%zu %zu\\n", offsetof({t}, {m}), SZ({t}, {m}));')
    sized = [("struct bpf_prog_info", sc.ProgInfo), ("struct bpf_map_info", sc.MapInfo),
             ("struct bpf_btf_info", sc.BtfInfo)]
    for t, _ in sized:
        lines.append(f'  printf("%zu\\n", sizeof({t}));')
    lines.append("  return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([str(CC), "-o", str(exe), str(src)], check=True, capture_output=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    for (expr, ours, off, size), line in zip(fields, got, strict=False):
        c_off, c_size = map(int, line.split())
        assert (off, size) == (c_off, c_size), f"{ours} vs {expr}"
    assert len(fields) > 150
    sizes = [int(x) for x in got[len(fields):len(fields) + len(sized)]]
    assert sizes == [ctypes.sizeof(cls) for _, cls in sized]


def test_struct_sizes_cover_newer_fields() -> None:
    assert ctypes.sizeof(sc.ProgLoadAttr) == 152  # up to fd_array_cnt (6.14)
    assert sc.ProgLoadAttr.log_true_size.offset == 140  # right after core_relo_rec_size
    assert ctypes.sizeof(sc.MapCreateAttr) == 80
    assert ctypes.sizeof(sc.BpfAttr) >= 144
    assert ctypes.sizeof(sc.ProgInfo) == 232 and ctypes.sizeof(sc.MapInfo) == 88


def test_obj_name_like_libbpf() -> None:
    assert sc.obj_name("tracepoint/syscalls/sys_enter") == b"tracepoint_sysc"
    assert sc.obj_name("kprobe:do_sys_open") == b"kprobe_do_sys_o"
    assert sc.obj_name(".rodata") == b".rodata"
    assert sc.obj_name("é") == b"_"


def test_errno_messages_are_actionable() -> None:
    from pybpf.errors import PybpfError
    from pybpf.kernel.errors import (
        BpfExists,
        BpfInvalid,
        BpfNoSpace,
        BpfNotFound,
        BpfPermissionError,
        error_for,
    )
    from pybpf.uapi import Cmd

    e = error_for(Cmd.PROG_LOAD, errno.EPERM, "program 'x'")
    assert isinstance(e, BpfPermissionError) and isinstance(e, PybpfError)
    if os.geteuid() == 0:  # root lacks no capability: the message says the kernel refuses
        assert str(e).startswith("loading program 'x': the kernel refuses this even for root")
        assert "fentry/fexit/LSM" in str(e)
    else:
        assert "CAP_BPF" in str(e) and "unprivileged_bpf_disabled" in str(e)
        assert str(e).startswith("loading program 'x': operation not permitted")
    assert isinstance(error_for(Cmd.MAP_UPDATE_ELEM, errno.E2BIG, "m"), BpfNoSpace)
    assert "max_entries" in str(error_for(Cmd.MAP_UPDATE_ELEM, errno.E2BIG, "m"))
    assert isinstance(error_for(Cmd.OBJ_GET, errno.ENOENT, "/sys/fs/bpf/x"), BpfNotFound)
    assert isinstance(error_for(Cmd.OBJ_PIN, errno.EEXIST, "/p"), BpfExists)
    inv = error_for(Cmd.MAP_CREATE, errno.EINVAL, "map 'm' (hash)")
    assert isinstance(inv, BpfInvalid) and "key/value sizes" in str(inv)
    assert "older than the feature" in str(error_for(Cmd.LINK_CREATE, errno.E2BIG))
    for err in (errno.EPERM, errno.EINVAL, errno.ENOENT, errno.E2BIG, errno.EBADF, 524, 9999):
        msg = str(error_for(Cmd.MAP_LOOKUP_ELEM, err, "m"))
        assert "\n" not in msg and msg


def test_verifier_log_parsing_without_kernel() -> None:
    from pybpf.kernel.programs import verifier_error
    from pybpf.spec import ProgramSpec, SourceLoc
    from pybpf.uapi import ProgType

    log = ("func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0                        ; R0_w=0\n"
           "1: (bf) r2 = r10\n2: (79) r3 = *(u64 *)(r2 -8)\ninvalid read from stack off -8+0 "
           "size 8\nprocessed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
           "peak_states 0 mark_read 0\n")
    spec = ProgramSpec("p", ProgType.KPROBE, [], source_map={1: SourceLoc("s.bt", 4, 2, "x")})
    e = verifier_error(spec, log)
    assert e.insn == 2 and e.summary == "invalid read from stack off -8+0 size 8"
    # no exact source entry for 2: the nearest one before it
    assert "at instruction 2 (s.bt:4:2: x): invalid read from stack" in str(e)
    assert e.trimmed.splitlines()[0] == "func#0 @0"
    assert e.log == log
