"""Pinning on bpffs: keep an object alive past its fd, reopen it by path.

Pins live on a bpf filesystem (``/sys/fs/bpf`` by convention); if none is
mounted there, ``ensure_bpffs`` mounts one (needs root), as bpftool does.
"""

from __future__ import annotations

import ctypes
import os

from ..errors import PybpfError
from ..uapi import Cmd
from .syscall import ObjAttr, addr_of, bpf, libc

BPFFS = "/sys/fs/bpf"
BPF_FS_MAGIC = 0xCAFE4A11
F_RDONLY = 1 << 3
F_WRONLY = 1 << 4


def is_bpffs(path: str) -> bool:
    """True if ``path`` (a directory) is on a bpf filesystem."""
    class _Statfs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("_rest", ctypes.c_long * 15)]

    buf = _Statfs()
    if libc().statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
        return False
    return (buf.f_type & 0xFFFFFFFF) == BPF_FS_MAGIC


def ensure_bpffs(path: str = BPFFS) -> str:
    """Mount bpffs at ``path`` unless one is there already; returns ``path``."""
    if os.path.isdir(path) and is_bpffs(path):
        return path
    os.makedirs(path, exist_ok=True)
    if libc().mount(b"bpf", os.fsencode(path), b"bpf", 0, None) != 0:
        err = ctypes.get_errno()
        raise PybpfError(f"{path}: cannot mount bpffs ({os.strerror(err)}); "
                         f"run as root or `mount -t bpf bpf {path}`")
    return path


def _check_dir(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path)) or "/"
    if (parent == BPFFS or parent.startswith(BPFFS + "/")) and not is_bpffs(BPFFS):
        ensure_bpffs()
    if not os.path.isdir(parent):
        raise PybpfError(f"{path}: directory {parent} does not exist (create it on bpffs first)")
    if not is_bpffs(parent):
        raise PybpfError(f"{path}: {parent} is not on a bpf filesystem "
                         f"(pin under {BPFFS}, or `mount -t bpf bpf {parent}`)")


def obj_pin(fd: int, path: str) -> None:
    """BPF_OBJ_PIN: make ``path`` refer to the object behind ``fd``."""
    _check_dir(path)
    p = ctypes.create_string_buffer(os.fsencode(path))
    bpf(Cmd.OBJ_PIN, ObjAttr(pathname=addr_of(p), bpf_fd=fd), what=path)


def obj_get(path: str, flags: int = 0) -> int:
    """BPF_OBJ_GET: a new fd for the object pinned at ``path`` (caller closes it)."""
    p = ctypes.create_string_buffer(os.fsencode(path))
    return bpf(Cmd.OBJ_GET, ObjAttr(pathname=addr_of(p), file_flags=flags), what=path)


def unpin(path: str) -> None:
    """Remove a pin (the object goes away when no fd or link holds it)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        raise PybpfError(f"{path}: nothing is pinned there") from None
