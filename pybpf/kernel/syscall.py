"""The bpf(2) system call via ctypes, and ``bpf_attr`` mirrored from linux/bpf.h.

Each command's part of ``union bpf_attr`` is one ctypes Structure below, field
for field as in the UAPI header (6.1) plus the fields newer kernels added (named
with the kernel version in a comment). ``bpf(cmd, attr)`` passes ``sizeof`` of
the structure actually used: the kernel zero-fills the rest, so older kernels
accept our calls as long as we leave the newer fields zero.

Pointers are plain ``c_uint64`` fields (``__aligned_u64`` in the header); use
``addr_of`` to fill them and keep the pointed-to buffer alive yourself.
"""

from __future__ import annotations

import ctypes
import os

from ..uapi import Cmd

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

u8 = ctypes.c_uint8
u32 = ctypes.c_uint32
s32 = ctypes.c_int32
u64 = ctypes.c_uint64

BPF_OBJ_NAME_LEN = 16
BPF_TAG_SIZE = 8

# __NR_bpf per architecture (arch/*/include/uapi/asm/unistd*.h).
_NR_BPF = {
    "x86_64": 321, "amd64": 321, "aarch64": 280, "arm64": 280, "riscv64": 280,
    "loongarch64": 280, "i386": 357, "i686": 357, "armv7l": 386, "armv6l": 386,
    "ppc64le": 361, "ppc64": 361, "s390x": 351, "mips64": 5315,
}


class Struct(ctypes.Structure):
    """A bpf_attr part: readable repr, zero-initialised."""

    def __repr__(self) -> str:
        names = [f[0] for f in self._fields_ if not f[0].startswith("_")]
        vals = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({vals})"


# -- BPF_MAP_CREATE -----------------------------------------------------------
class MapCreateAttr(Struct):
    _fields_ = [
        ("map_type", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("inner_map_fd", u32),
        ("numa_node", u32),
        ("map_name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("map_ifindex", u32),
        ("btf_fd", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("map_extra", u64),
        ("value_type_btf_obj_fd", s32),  # 6.9
        ("map_token_fd", s32),  # 6.9
    ]


# -- BPF_MAP_*_ELEM -----------------------------------------------------------
class MapElemAttr(Struct):
    _fields_ = [
        ("map_fd", u32),
        ("_pad0", u32),
        ("key", u64),
        ("value", u64),  # union with next_key
        ("flags", u64),
    ]

    @property
    def next_key(self) -> int:
        return int(self.value)

    @next_key.setter
    def next_key(self, v: int) -> None:
        self.value = v


# -- BPF_MAP_*_BATCH ----------------------------------------------------------
class MapBatchAttr(Struct):
    _fields_ = [
        ("in_batch", u64),
        ("out_batch", u64),
        ("keys", u64),
        ("values", u64),
        ("count", u32),
        ("map_fd", u32),
        ("elem_flags", u64),
        ("flags", u64),
    ]


# -- BPF_PROG_LOAD ------------------------------------------------------------
class ProgLoadAttr(Struct):
    _fields_ = [
        ("prog_type", u32),
        ("insn_cnt", u32),
        ("insns", u64),
        ("license", u64),
        ("log_level", u32),
        ("log_size", u32),
        ("log_buf", u64),
        ("kern_version", u32),
        ("prog_flags", u32),
        ("prog_name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("prog_ifindex", u32),
        ("expected_attach_type", u32),
        ("prog_btf_fd", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("func_info_cnt", u32),
        ("line_info_rec_size", u32),
        ("line_info", u64),
        ("line_info_cnt", u32),
        ("attach_btf_id", u32),
        ("attach_prog_fd", u32),  # union with attach_btf_obj_fd
        ("core_relo_cnt", u32),
        ("fd_array", u64),
        ("core_relos", u64),
        ("core_relo_rec_size", u32),
        ("log_true_size", u32),  # 6.4: output, the log size the verifier wanted
        ("prog_token_fd", s32),  # 6.9
        ("fd_array_cnt", u32),  # 6.14
    ]

    @property
    def attach_btf_obj_fd(self) -> int:
        return int(self.attach_prog_fd)

    @attach_btf_obj_fd.setter
    def attach_btf_obj_fd(self, v: int) -> None:
        self.attach_prog_fd = v


# -- BPF_OBJ_PIN / BPF_OBJ_GET ------------------------------------------------
class ObjAttr(Struct):
    _fields_ = [
        ("pathname", u64),
        ("bpf_fd", u32),
        ("file_flags", u32),
        ("path_fd", s32),  # 6.5 (with BPF_F_PATH_FD in file_flags)
    ]


# -- BPF_PROG_ATTACH / BPF_PROG_DETACH ----------------------------------------
class ProgAttachAttr(Struct):
    _fields_ = [
        ("target_fd", u32),  # union with target_ifindex (6.6)
        ("attach_bpf_fd", u32),
        ("attach_type", u32),
        ("attach_flags", u32),
        ("replace_bpf_fd", u32),
        ("relative_fd", u32),  # 6.6, union with relative_id
        ("expected_revision", u64),  # 6.6
    ]


# -- BPF_PROG_TEST_RUN --------------------------------------------------------
class TestRunAttr(Struct):
    __test__ = False  # not a pytest class

    _fields_ = [
        ("prog_fd", u32),
        ("retval", u32),
        ("data_size_in", u32),
        ("data_size_out", u32),
        ("data_in", u64),
        ("data_out", u64),
        ("repeat", u32),
        ("duration", u32),
        ("ctx_size_in", u32),
        ("ctx_size_out", u32),
        ("ctx_in", u64),
        ("ctx_out", u64),
        ("flags", u32),
        ("cpu", u32),
        ("batch_size", u32),
    ]


# -- BPF_*_GET_NEXT_ID / BPF_*_GET_FD_BY_ID -----------------------------------
class GetIdAttr(Struct):
    _fields_ = [
        ("start_id", u32),  # union: prog_id, map_id, btf_id, link_id
        ("next_id", u32),
        ("open_flags", u32),
    ]


# -- BPF_OBJ_GET_INFO_BY_FD ---------------------------------------------------
class InfoAttr(Struct):
    _fields_ = [
        ("bpf_fd", u32),
        ("info_len", u32),
        ("info", u64),
    ]


# -- BPF_PROG_QUERY -----------------------------------------------------------
class ProgQueryAttr(Struct):
    _fields_ = [
        ("target_fd", u32),  # union with target_ifindex
        ("attach_type", u32),
        ("query_flags", u32),
        ("attach_flags", u32),
        ("prog_ids", u64),
        ("prog_cnt", u32),  # union with count (6.6)
        ("_pad0", u32),
        ("prog_attach_flags", u64),
        ("link_ids", u64),  # 6.6
        ("link_attach_flags", u64),  # 6.6
        ("revision", u64),  # 6.6
    ]


# -- BPF_RAW_TRACEPOINT_OPEN --------------------------------------------------
class RawTracepointAttr(Struct):
    _fields_ = [
        ("name", u64),
        ("prog_fd", u32),
        ("_pad0", u32),
        ("cookie", u64),  # 6.10
    ]


# -- BPF_BTF_LOAD -------------------------------------------------------------
class BtfLoadAttr(Struct):
    _fields_ = [
        ("btf", u64),
        ("btf_log_buf", u64),
        ("btf_size", u32),
        ("btf_log_size", u32),
        ("btf_log_level", u32),
        ("btf_log_true_size", u32),  # 6.4
        ("btf_flags", u32),  # 6.9
        ("btf_token_fd", s32),  # 6.9
    ]


# -- BPF_TASK_FD_QUERY --------------------------------------------------------
class TaskFdQueryAttr(Struct):
    _fields_ = [
        ("pid", u32),
        ("fd", u32),
        ("flags", u32),
        ("buf_len", u32),
        ("buf", u64),
        ("prog_id", u32),
        ("fd_type", u32),
        ("probe_offset", u64),
        ("probe_addr", u64),
    ]


# -- BPF_LINK_CREATE ----------------------------------------------------------
class _LinkIter(Struct):
    _fields_ = [("iter_info", u64), ("iter_info_len", u32)]


class _LinkPerfEvent(Struct):
    _fields_ = [("bpf_cookie", u64)]


class _LinkKprobeMulti(Struct):
    _fields_ = [
        ("flags", u32), ("cnt", u32), ("syms", u64), ("addrs", u64), ("cookies", u64),
    ]


class _LinkTracing(Struct):
    _fields_ = [("target_btf_id", u32), ("_pad0", u32), ("cookie", u64)]


class _LinkNetfilter(Struct):  # 6.4
    _fields_ = [("pf", u32), ("hooknum", u32), ("priority", s32), ("flags", u32)]


class _LinkRelative(Struct):  # tcx 6.6, netkit 6.7, cgroup 6.15
    _fields_ = [("relative_fd", u32), ("_pad0", u32), ("expected_revision", u64)]


class _LinkUprobeMulti(Struct):  # 6.6
    _fields_ = [
        ("path", u64), ("offsets", u64), ("ref_ctr_offsets", u64), ("cookies", u64),
        ("cnt", u32), ("flags", u32), ("pid", u32),
    ]


class _LinkTarget(ctypes.Union):
    _fields_ = [
        ("target_btf_id", u32),
        ("iter", _LinkIter),
        ("perf_event", _LinkPerfEvent),
        ("kprobe_multi", _LinkKprobeMulti),
        ("tracing", _LinkTracing),
        ("netfilter", _LinkNetfilter),
        ("tcx", _LinkRelative),
        ("uprobe_multi", _LinkUprobeMulti),
        ("netkit", _LinkRelative),
        ("cgroup", _LinkRelative),
    ]


class LinkCreateAttr(Struct):
    _anonymous_ = ("u",)
    _fields_ = [
        ("prog_fd", u32),  # union with map_fd (struct_ops)
        ("target_fd", u32),  # union with target_ifindex
        ("attach_type", u32),
        ("flags", u32),
        ("u", _LinkTarget),
    ]


class LinkUpdateAttr(Struct):
    _fields_ = [("link_fd", u32), ("new_prog_fd", u32), ("flags", u32), ("old_prog_fd", u32)]


class LinkDetachAttr(Struct):
    _fields_ = [("link_fd", u32)]


class EnableStatsAttr(Struct):
    _fields_ = [("type", u32)]


class IterCreateAttr(Struct):
    _fields_ = [("link_fd", u32), ("flags", u32)]


class ProgBindMapAttr(Struct):
    _fields_ = [("prog_fd", u32), ("map_fd", u32), ("flags", u32)]


class BpfAttr(ctypes.Union):
    """``union bpf_attr`` as a whole (for callers who want one type)."""

    _fields_ = [
        ("map_create", MapCreateAttr),
        ("map_elem", MapElemAttr),
        ("batch", MapBatchAttr),
        ("prog_load", ProgLoadAttr),
        ("obj", ObjAttr),
        ("prog_attach", ProgAttachAttr),
        ("test", TestRunAttr),
        ("get_id", GetIdAttr),
        ("info", InfoAttr),
        ("query", ProgQueryAttr),
        ("raw_tracepoint", RawTracepointAttr),
        ("btf_load", BtfLoadAttr),
        ("task_fd_query", TaskFdQueryAttr),
        ("link_create", LinkCreateAttr),
        ("link_update", LinkUpdateAttr),
        ("link_detach", LinkDetachAttr),
        ("enable_stats", EnableStatsAttr),
        ("iter_create", IterCreateAttr),
        ("prog_bind_map", ProgBindMapAttr),
    ]


# -- info structures (BPF_OBJ_GET_INFO_BY_FD) ---------------------------------
class ProgInfo(Struct):
    """struct bpf_prog_info."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("tag", u8 * BPF_TAG_SIZE),
        ("jited_prog_len", u32),
        ("xlated_prog_len", u32),
        ("jited_prog_insns", u64),
        ("xlated_prog_insns", u64),
        ("load_time", u64),
        ("created_by_uid", u32),
        ("nr_map_ids", u32),
        ("map_ids", u64),
        ("name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("ifindex", u32),
        ("gpl_compatible", u32),  # bit 0; bits 1..31 pad
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("nr_jited_ksyms", u32),
        ("nr_jited_func_lens", u32),
        ("jited_ksyms", u64),
        ("jited_func_lens", u64),
        ("btf_id", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("nr_func_info", u32),
        ("nr_line_info", u32),
        ("line_info", u64),
        ("jited_line_info", u64),
        ("nr_jited_line_info", u32),
        ("line_info_rec_size", u32),
        ("jited_line_info_rec_size", u32),
        ("nr_prog_tags", u32),
        ("prog_tags", u64),
        ("run_time_ns", u64),
        ("run_cnt", u64),
        ("recursion_misses", u64),
        ("verified_insns", u32),
        ("attach_btf_obj_id", u32),
        ("attach_btf_id", u32),
        ("_pad1", u32),
    ]


class MapInfo(Struct):
    """struct bpf_map_info."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("ifindex", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("btf_id", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_id", u32),  # 6.9 (was padding)
        ("map_extra", u64),
    ]


class _LinkRawTp(Struct):
    _fields_ = [("tp_name", u64), ("tp_name_len", u32)]


class _LinkInfoTracing(Struct):
    _fields_ = [("attach_type", u32), ("target_obj_id", u32), ("target_btf_id", u32)]


class _LinkInfoCgroup(Struct):
    _fields_ = [("cgroup_id", u64), ("attach_type", u32)]


class _LinkInfoIter(Struct):
    _fields_ = [
        ("target_name", u64), ("target_name_len", u32), ("map_id", u32),
        ("cgroup_id", u64), ("order", u32),
    ]


class _LinkInfoNetns(Struct):
    _fields_ = [("netns_ino", u32), ("attach_type", u32)]


class _LinkInfoXdp(Struct):
    _fields_ = [("ifindex", u32)]


class _LinkInfoIfindex(Struct):  # tcx / netkit: ifindex + attach_type
    _fields_ = [("ifindex", u32), ("attach_type", u32)]


class _LinkInfoPerfEvent(Struct):  # 6.6: type + union of uprobe/kprobe/tracepoint/event
    _fields_ = [
        ("type", u32), ("_pad0", u32), ("name_or_config", u64), ("name_len", u32),
        ("offset", u32), ("addr_or_cookie", u64), ("missed_or_cookie", u64), ("cookie", u64),
    ]


class _LinkInfoU(ctypes.Union):
    _fields_ = [
        ("raw_tracepoint", _LinkRawTp),
        ("tracing", _LinkInfoTracing),
        ("cgroup", _LinkInfoCgroup),
        ("iter", _LinkInfoIter),
        ("netns", _LinkInfoNetns),
        ("xdp", _LinkInfoXdp),
        ("tcx", _LinkInfoIfindex),
        ("netkit", _LinkInfoIfindex),
        ("perf_event", _LinkInfoPerfEvent),
        ("_space", u64 * 10),  # room for the largest member on newer kernels
    ]


class LinkInfo(Struct):
    """struct bpf_link_info (type, id, prog_id + the per-type union)."""

    _anonymous_ = ("u",)
    _fields_ = [("type", u32), ("id", u32), ("prog_id", u32), ("_pad0", u32), ("u", _LinkInfoU)]


class BtfInfo(Struct):
    """struct bpf_btf_info."""

    _fields_ = [
        ("btf", u64), ("btf_size", u32), ("id", u32), ("name", u64), ("name_len", u32),
        ("kernel_btf", u32),
    ]


# -- the call -----------------------------------------------------------------
_libc: Any = None
_nr_bpf: int | None = None


def libc() -> Any:
    """The C library (with errno), loaded once: the process's own symbols first, which
    avoids ctypes.util's subprocess-based search on the start-up path."""
    global _libc
    if _libc is None:
        try:
            lib = ctypes.CDLL(None, use_errno=True)
            lib.syscall  # noqa: B018 - probe that the symbol is there
        except (OSError, AttributeError):
            from ctypes.util import find_library

            lib = ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)
        lib.syscall.restype = ctypes.c_long
        _libc = lib
    return _libc


def _setup() -> tuple[Any, int]:
    global _nr_bpf
    if _nr_bpf is None:
        machine = os.uname().machine
        if machine not in _NR_BPF:
            from .errors import BpfUnsupported

            raise BpfUnsupported(f"the bpf() syscall number is unknown for machine {machine!r}")
        _nr_bpf = _NR_BPF[machine]
    return libc(), _nr_bpf


def bpf_raw(cmd: int, attr: ctypes.Structure | ctypes.Union) -> tuple[int, int]:
    """Call bpf(cmd, &attr, sizeof attr): (return value, errno). Retries EINTR/EAGAIN-free."""
    libc, nr = _setup()
    while True:
        ret = libc.syscall(ctypes.c_long(nr), ctypes.c_int(int(cmd)), ctypes.byref(attr),
                           ctypes.c_uint(ctypes.sizeof(attr)))
        if ret >= 0:
            return int(ret), 0
        err = ctypes.get_errno()
        if err != 4:  # EINTR
            return int(ret), err


def bpf(cmd: int, attr: ctypes.Structure | ctypes.Union, *, what: str = "") -> int:
    """bpf(2): the result (often a new fd, owned by the caller); raise ``BpfError`` on failure.

    ``what`` names the object in the error message (e.g. "map 'counts'").
    """
    ret, err = bpf_raw(cmd, attr)
    if err:
        from .errors import error_for

        raise error_for(Cmd(cmd), err, what)
    return ret


def addr_of(buf: Any) -> int:
    """The address of a ctypes object or writable buffer, for a ``__aligned_u64`` field."""
    if buf is None:
        return 0
    return ctypes.addressof(buf)


def close_fd(fd: int) -> None:
    """Close an fd the kernel gave us, ignoring an already-closed one."""
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


def obj_name(name: str) -> bytes:
    """A name the kernel accepts for prog_name/map_name (like libbpf): at most 15 chars of
    [A-Za-z0-9_.]; anything else becomes '_'."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "_.")) else "_" for c in name)
    return out[: BPF_OBJ_NAME_LEN - 1].encode()
