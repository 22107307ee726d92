"""The few bpf() commands links need, packed by hand from ``union bpf_attr``.

Kept here (not in ``kernel/syscall.py``) so the attach code has no import-time
dependency on the loader; each packer names the UAPI struct it mirrors.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import struct

from ...errors import PybpfError
from ...uapi import Cmd

_NR_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
ATTR_SIZE = 144  # sizeof(union bpf_attr) on 6.x; the kernel accepts a shorter, zero-tailed one

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _nr() -> int:
    machine = platform.machine()
    try:
        return _NR_BPF[machine]
    except KeyError:
        raise PybpfError(f"bpf(): unsupported machine {machine}") from None


def bpf(cmd: int, attr: bytes | bytearray) -> int:
    """Run bpf(cmd, attr); return the result or raise OSError with the errno."""
    buf = ctypes.create_string_buffer(bytes(attr).ljust(ATTR_SIZE, b"\0"), ATTR_SIZE)
    ret = _libc.syscall(_nr(), ctypes.c_int(cmd), buf, ctypes.c_uint(ATTR_SIZE))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({Cmd(cmd).name}): {os.strerror(err)}")
    return int(ret)


def link_create(prog_fd: int, target: int, attach_type: int, flags: int = 0,
                extra: bytes = b"") -> int:
    """BPF_LINK_CREATE: ``link_create {prog_fd, target_fd|ifindex, attach_type, flags, union}``."""
    attr = struct.pack("<IIII", prog_fd, target, attach_type, flags) + extra
    return bpf(Cmd.LINK_CREATE, attr)


def raw_tracepoint_open(prog_fd: int, name: str | None, cookie: int = 0) -> int:
    """BPF_RAW_TRACEPOINT_OPEN: ``raw_tracepoint {u64 name; u32 prog_fd; u32 pad; u64 cookie}``."""
    cname = ctypes.create_string_buffer(name.encode()) if name else None
    ptr = ctypes.addressof(cname) if cname is not None else 0
    return bpf(Cmd.RAW_TRACEPOINT_OPEN, struct.pack("<QIIQ", ptr, prog_fd, 0, cookie))


def iter_create(link_fd: int) -> int:
    """BPF_ITER_CREATE: ``iter_create {u32 link_fd; u32 flags}``."""
    return bpf(Cmd.ITER_CREATE, struct.pack("<II", link_fd, 0))


def prog_attach(prog_fd: int, target_fd: int, attach_type: int, flags: int = 0) -> None:
    """BPF_PROG_ATTACH: ``{u32 target_fd; u32 attach_bpf_fd; u32 attach_type; u32 flags}``."""
    bpf(Cmd.PROG_ATTACH, struct.pack("<IIII", target_fd, prog_fd, attach_type, flags))


def prog_detach(prog_fd: int, target_fd: int, attach_type: int) -> None:
    bpf(Cmd.PROG_DETACH, struct.pack("<IIII", target_fd, prog_fd, attach_type, 0))


def link_detach(link_fd: int) -> None:
    """BPF_LINK_DETACH: ``link_detach {u32 link_fd}``."""
    bpf(Cmd.LINK_DETACH, struct.pack("<I", link_fd))


def obj_info(fd: int, size: int = 256) -> bytes:
    """BPF_OBJ_GET_INFO_BY_FD: ``info {u32 bpf_fd; u32 info_len; u64 info}``."""
    buf = ctypes.create_string_buffer(size)
    bpf(Cmd.OBJ_GET_INFO_BY_FD, struct.pack("<IIQ", fd, size, ctypes.addressof(buf)))
    return buf.raw


def next_ids(cmd: int) -> list[int]:
    """All ids from PROG/MAP/LINK_GET_NEXT_ID: ``{u32 start_id; u32 next_id; u32 open_flags}``."""
    out: list[int] = []
    start = 0
    while True:
        buf = ctypes.create_string_buffer(struct.pack("<III", start, 0, 0).ljust(ATTR_SIZE, b"\0"))
        ret = _libc.syscall(_nr(), ctypes.c_int(cmd), buf, ctypes.c_uint(ATTR_SIZE))
        if ret < 0:
            return out  # ENOENT: no more
        start = struct.unpack_from("<I", buf.raw, 4)[0]
        out.append(start)


def link_ids() -> list[int]:
    return next_ids(Cmd.LINK_GET_NEXT_ID)


def prog_ids() -> list[int]:
    return next_ids(Cmd.PROG_GET_NEXT_ID)


def map_update(map_fd: int, key: bytes, value: bytes, flags: int = 0) -> None:
    """BPF_MAP_UPDATE_ELEM: ``{u32 map_fd; u64 key; u64 value; u64 flags}``."""
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    bpf(Cmd.MAP_UPDATE_ELEM,
        struct.pack("<IxxxxQQQ", map_fd, ctypes.addressof(k), ctypes.addressof(v), flags))


def map_delete(map_fd: int, key: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    bpf(Cmd.MAP_DELETE_ELEM, struct.pack("<IxxxxQ", map_fd, ctypes.addressof(k)))


def map_info(map_fd: int) -> tuple[int, int, int, int, int]:
    """(type, id, key_size, value_size, max_entries) from ``struct bpf_map_info``."""
    t, i, k, v, m = struct.unpack_from("<IIIII", obj_info(map_fd, 80))
    return t, i, k, v, m


def link_update(link_fd: int, new_prog_fd: int, old_prog_fd: int = 0) -> None:
    """BPF_LINK_UPDATE: ``{u32 link_fd; u32 new_prog_fd; u32 flags; u32 old_prog_fd}``."""
    flags = 1 << 2 if old_prog_fd else 0  # BPF_F_REPLACE
    bpf(Cmd.LINK_UPDATE, struct.pack("<IIII", link_fd, new_prog_fd, flags, old_prog_fd))


def obj_pin(fd: int, path: str) -> None:
    """BPF_OBJ_PIN: ``{u64 pathname; u32 bpf_fd; u32 file_flags}``."""
    p = ctypes.create_string_buffer(path.encode())
    bpf(Cmd.OBJ_PIN, struct.pack("<QII", ctypes.addressof(p), fd, 0))
