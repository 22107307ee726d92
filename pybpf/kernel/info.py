"""Kernel object introspection: ids, fds by id, and BPF_OBJ_GET_INFO_BY_FD.

What ``bpftool prog/map/link list`` shows comes from here: walk ids with
BPF_*_GET_NEXT_ID, open each with BPF_*_GET_FD_BY_ID, read its info struct.
Every fd opened here is closed here (callers get plain data back).
"""

from __future__ import annotations

import ctypes
import errno as E
import struct
from typing import TypeVar

from .._record import dataclass, field
from ..errors import BadInput
from ..uapi import Cmd
from .errors import BpfNotFound, error_for
from .syscall import (
    BtfInfo,
    GetIdAttr,
    InfoAttr,
    LinkInfo,
    MapInfo,
    ProgInfo,
    addr_of,
    bpf,
    bpf_raw,
    close_fd,
)

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterator

T = TypeVar("T", ProgInfo, MapInfo, LinkInfo, BtfInfo)

_NEXT = {"prog": Cmd.PROG_GET_NEXT_ID, "map": Cmd.MAP_GET_NEXT_ID,
         "link": Cmd.LINK_GET_NEXT_ID, "btf": Cmd.BTF_GET_NEXT_ID}
_FD_BY_ID = {"prog": Cmd.PROG_GET_FD_BY_ID, "map": Cmd.MAP_GET_FD_BY_ID,
             "link": Cmd.LINK_GET_FD_BY_ID, "btf": Cmd.BTF_GET_FD_BY_ID}


def obj_info(fd: int, cls: type[T], prepare: T | None = None) -> T:
    """Fill ``cls`` (or ``prepare``, with its pointer fields set) for the object behind ``fd``."""
    info = prepare if prepare is not None else cls()
    attr = InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=addr_of(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, what=f"fd {fd} (info)")
    return info


def ids(kind: str) -> Iterator[int]:
    """All ids of ``kind`` ("prog", "map", "link", "btf") in ascending order."""
    cmd = _NEXT[kind]
    attr = GetIdAttr(start_id=0)
    while True:
        _, err = bpf_raw(cmd, attr)
        if err == E.ENOENT:
            return
        if err:
            raise error_for(cmd, err, f"{kind} ids")
        yield int(attr.next_id)
        attr.start_id = attr.next_id


def fd_by_id(kind: str, obj_id: int) -> int:
    """A new fd for object ``obj_id`` of ``kind``; the caller closes it."""
    if not 0 < obj_id < 1 << 32:  # ctypes would wrap -1 to 4294967295 and ask for that
        raise BadInput(f"{kind} id {obj_id} is out of range: ids are 1..4294967295")
    attr = GetIdAttr(start_id=obj_id)
    return bpf(_FD_BY_ID[kind], attr, what=f"{kind} id {obj_id}")


# -- plain-data views ---------------------------------------------------------
@dataclass(slots=True)
class ProgDetails:
    """What bpftool prog show prints, as plain data."""

    id: int
    type: int
    name: str
    tag: str
    gpl_compatible: bool
    load_time: int  # ns since boot
    uid: int
    xlated_len: int
    jited_len: int
    map_ids: list[int] = field(default_factory=list)
    btf_id: int = 0
    run_time_ns: int = 0
    run_cnt: int = 0
    recursion_misses: int = 0
    verified_insns: int = 0
    attach_btf_obj_id: int = 0
    attach_btf_id: int = 0
    xlated: bytes = b""
    memlock: int | None = None  # from /proc/self/fdinfo, as bpftool reads it
    # with xlated: (insn_off, type_id), (insn_off, file_name_off, line_off, line_col),
    # and the kernel address of each JITed function (subprogram)
    func_info: list[tuple[int, int]] = field(default_factory=list)
    line_info: list[tuple[int, int, int, int]] = field(default_factory=list)
    jited_ksyms: list[int] = field(default_factory=list)


@dataclass(slots=True)
class MapDetails:
    id: int
    type: int
    name: str
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf_vmlinux_value_type_id: int = 0
    map_extra: int = 0
    memlock: int | None = None
    frozen: int | None = None
    owner_prog_type: int | None = None  # prog arrays: the program type they accept
    owner_jited: int | None = None


@dataclass(slots=True)
class LinkDetails:
    id: int
    type: int
    prog_id: int
    raw: LinkInfo
    name: str = ""  # raw tracepoint name or iterator target name


def fdinfo(fd: int) -> dict[str, str]:
    """The fields of /proc/self/fdinfo/<fd> (memlock, frozen, owner_prog_type, ...)."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            text = f.read()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, sep, val = line.partition(":")
        if sep:
            out[key.strip()] = val.strip()
    return out


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def prog_details(fd: int, *, xlated: bool = False) -> ProgDetails:
    """Info for the program behind ``fd``; with ``xlated`` also its translated instructions,
    func/line info (BTF) and the kernel addresses of its JITed functions."""
    info = obj_info(fd, ProgInfo)
    nmaps = int(info.nr_map_ids)
    want_x = bool(xlated and info.xlated_prog_len)
    again = ProgInfo()
    map_buf = (ctypes.c_uint32 * max(nmaps, 1))()
    if nmaps:
        again.nr_map_ids = nmaps
        again.map_ids = addr_of(map_buf)
    xbuf = ctypes.create_string_buffer(int(info.xlated_prog_len) if want_x else 1)
    nfi, fsz = (int(info.nr_func_info), int(info.func_info_rec_size)) if want_x else (0, 0)
    nli, lsz = (int(info.nr_line_info), int(info.line_info_rec_size)) if want_x else (0, 0)
    nks = int(info.nr_jited_ksyms) if want_x else 0
    fbuf = ctypes.create_string_buffer(max(nfi * fsz, 1))
    lbuf = ctypes.create_string_buffer(max(nli * lsz, 1))
    kbuf = (ctypes.c_uint64 * max(nks, 1))()
    if want_x:
        again.xlated_prog_len = info.xlated_prog_len
        again.xlated_prog_insns = addr_of(xbuf)
        if nfi:
            again.nr_func_info, again.func_info_rec_size = nfi, fsz
            again.func_info = addr_of(fbuf)
        if nli:
            again.nr_line_info, again.line_info_rec_size = nli, lsz
            again.line_info = addr_of(lbuf)
        if nks:
            again.nr_jited_ksyms, again.jited_ksyms = nks, addr_of(kbuf)
    if nmaps or want_x:
        info = obj_info(fd, ProgInfo, again)
    d = ProgDetails(
        id=int(info.id), type=int(info.type), name=info.name.decode(errors="replace"),
        tag=bytes(info.tag).hex(), gpl_compatible=bool(info.gpl_compatible & 1),
        load_time=int(info.load_time), uid=int(info.created_by_uid),
        xlated_len=int(info.xlated_prog_len), jited_len=int(info.jited_prog_len),
        map_ids=list(map_buf[: min(nmaps, int(info.nr_map_ids))]) if nmaps else [],
        btf_id=int(info.btf_id), run_time_ns=int(info.run_time_ns),
        run_cnt=int(info.run_cnt), recursion_misses=int(info.recursion_misses),
        verified_insns=int(info.verified_insns), attach_btf_obj_id=int(info.attach_btf_obj_id),
        attach_btf_id=int(info.attach_btf_id),
        xlated=xbuf.raw[: int(info.xlated_prog_len)] if want_x else b"",
        memlock=_int_or_none(fdinfo(fd).get("memlock")),
    )
    if want_x:
        d.func_info = [struct.unpack_from("<II", fbuf.raw, i * fsz) for i in range(nfi)]
        d.line_info = [struct.unpack_from("<IIII", lbuf.raw, i * lsz) for i in range(nli)]
        d.jited_ksyms = list(kbuf[:nks])
    return d


def map_details(fd: int) -> MapDetails:
    info = obj_info(fd, MapInfo)
    fi = fdinfo(fd)
    return MapDetails(
        id=int(info.id), type=int(info.type), name=info.name.decode(errors="replace"),
        key_size=int(info.key_size), value_size=int(info.value_size),
        max_entries=int(info.max_entries), flags=int(info.map_flags), btf_id=int(info.btf_id),
        btf_key_type_id=int(info.btf_key_type_id), btf_value_type_id=int(info.btf_value_type_id),
        btf_vmlinux_value_type_id=int(info.btf_vmlinux_value_type_id),
        map_extra=int(info.map_extra), memlock=_int_or_none(fi.get("memlock")),
        frozen=_int_or_none(fi.get("frozen")),
        owner_prog_type=_int_or_none(fi.get("owner_prog_type")),
        owner_jited=_int_or_none(fi.get("owner_jited")),
    )


def link_details(fd: int) -> LinkDetails:
    from ..uapi import LinkType

    info = obj_info(fd, LinkInfo)
    name = ""
    if info.type in (LinkType.RAW_TRACEPOINT, LinkType.ITER):
        buf = ctypes.create_string_buffer(256)
        again = LinkInfo()
        if info.type == LinkType.RAW_TRACEPOINT:
            again.raw_tracepoint.tp_name = addr_of(buf)
            again.raw_tracepoint.tp_name_len = len(buf)
        else:
            again.iter.target_name = addr_of(buf)
            again.iter.target_name_len = len(buf)
        info = obj_info(fd, LinkInfo, again)
        name = buf.value.decode(errors="replace")
    return LinkDetails(id=int(info.id), type=int(info.type), prog_id=int(info.prog_id),
                       raw=info, name=name)


def _each(kind: str, fn):  # type: ignore[no-untyped-def]
    for obj_id in ids(kind):
        try:
            fd = fd_by_id(kind, obj_id)
        except BpfNotFound:
            continue  # went away between the two calls
        try:
            yield fn(fd)
        finally:
            close_fd(fd)


def list_progs() -> list[ProgDetails]:
    return list(_each("prog", prog_details))


def list_maps() -> list[MapDetails]:
    return list(_each("map", map_details))


def list_links() -> list[LinkDetails]:
    return list(_each("link", link_details))


def prog_by_id(prog_id: int, *, xlated: bool = False) -> ProgDetails:
    fd = fd_by_id("prog", prog_id)
    try:
        return prog_details(fd, xlated=xlated)
    finally:
        close_fd(fd)


def map_by_id(map_id: int) -> MapDetails:
    fd = fd_by_id("map", map_id)
    try:
        return map_details(fd)
    finally:
        close_fd(fd)


def link_by_id(link_id: int) -> LinkDetails:
    fd = fd_by_id("link", link_id)
    try:
        return link_details(fd)
    finally:
        close_fd(fd)


__all__ = [
    "LinkDetails", "MapDetails", "ProgDetails", "fd_by_id", "fdinfo", "ids", "link_by_id",
    "link_details", "list_links", "list_maps", "list_progs", "map_by_id", "map_details",
    "obj_info", "prog_by_id", "prog_details",
]
