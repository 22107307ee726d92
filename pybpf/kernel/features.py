"""What this kernel supports: program types, map types, helpers per program type.

Probes work like ``bpftool feature probe``: load the smallest program of a type,
create the smallest map of a type, load ``call helper; exit`` and read the
verifier's verdict. Results are cached per boot (keyed on
/proc/sys/kernel/random/boot_id) in ~/.cache/pybpf, or /tmp if that is not
writable, so tests and tools can ask cheaply and skip with a reason.
"""

from __future__ import annotations

import ctypes
import errno as E
import functools
import json
import os
import struct

from ..errors import BadInput
from ..uapi import HELPER_IDS, HELPER_NAMES, AttachType, Cmd, MapType, ProgType
from .syscall import MapCreateAttr, ProgLoadAttr, addr_of, bpf_raw, close_fd

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_EXIT0 = struct.pack("<BBhiBBhi", 0xB7, 0, 0, 0, 0x95, 0, 0, 0)  # r0 = 0; exit

# Program types that need an expected attach type to load at all.
_EXPECTED = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
    ProgType.TRACING: AttachType.TRACE_FENTRY,
    ProgType.LSM: AttachType.LSM_MAC,
}
# Types that need a BTF attach target: a known type fails with one of these messages.
_BTF_TYPES_MSG = {
    ProgType.TRACING: "attach_btf_id",
    ProgType.EXT: "Cannot replace kernel functions",
    ProgType.LSM: "attach_btf_id",
    ProgType.STRUCT_OPS: "attach_btf_id",
}


def _load(prog_type: int, code: bytes, *, log: bool = False) -> tuple[int, str]:
    """Try to load ``code``: (errno or 0, verifier log)."""
    buf = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"GPL")
    logbuf = ctypes.create_string_buffer(8192) if log else None
    t = ProgType(prog_type)
    attr = ProgLoadAttr(prog_type=prog_type, insn_cnt=len(code) // 8, insns=addr_of(buf),
                        license=addr_of(lic))
    if t in _EXPECTED:
        attr.expected_attach_type = int(_EXPECTED[t])
    if t in _BTF_TYPES_MSG:
        attr.attach_btf_id = 1
    if t == ProgType.SYSCALL:
        attr.prog_flags = 1 << 4  # BPF_F_SLEEPABLE
    if t == ProgType.KPROBE:
        attr.kern_version = _kernel_version_code()
    if logbuf is not None:
        attr.log_level, attr.log_size, attr.log_buf = 1, len(logbuf), addr_of(logbuf)
    fd, err = bpf_raw(Cmd.PROG_LOAD, attr)
    if not err:
        close_fd(fd)
    text = logbuf.value.decode(errors="replace") if logbuf is not None else ""
    return err, text


def _kernel_version_code() -> int:
    parts = (os.uname().release.split("-")[0].split(".") + ["0", "0"])[:3]
    nums = [int("".join(c for c in p if c.isdigit()) or 0) for p in parts]
    return (nums[0] << 16) | (nums[1] << 8) | min(nums[2], 255)


def probe_prog_type(t: ProgType) -> bool:
    if t == ProgType.UNSPEC:
        return False
    err, log = _load(int(t), _EXIT0, log=t in _BTF_TYPES_MSG)
    if not err:
        return True
    if t in _BTF_TYPES_MSG:
        return _BTF_TYPES_MSG[t] in log
    return False


def _tiny_btf() -> bytes:
    """Raw BTF with one type: ``int`` (id 1), for maps that require BTF key/value types."""
    strs = b"\0int\0"
    types = struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)  # INT, signed, 32 bits
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs


def _create(attr: MapCreateAttr) -> int:
    fd, err = bpf_raw(Cmd.MAP_CREATE, attr)
    if not err:
        close_fd(fd)
    return err


def probe_map_type(t: MapType) -> bool:
    if t == MapType.UNSPEC:
        return False
    a = MapCreateAttr(map_type=int(t), key_size=4, value_size=4, max_entries=1)
    if t == MapType.LPM_TRIE:
        a.key_size, a.value_size, a.map_flags = 8, 8, 1
    elif t == MapType.STACK_TRACE:
        a.value_size = 8
    elif t in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        a.key_size, a.max_entries = 16, 0  # struct bpf_cgroup_storage_key
    elif t == MapType.STRUCT_OPS:
        a.btf_vmlinux_value_type_id = 1
        return _create(a) == 524  # ENOTSUPP: known type, bogus BTF id (as libbpf probes)
    elif t in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
        a.key_size = 0
    elif t in (MapType.RINGBUF, MapType.USER_RINGBUF):
        a.key_size, a.value_size, a.max_entries = 0, 0, os.sysconf("SC_PAGE_SIZE")
    elif t == MapType.ARENA:
        a.key_size, a.value_size, a.map_flags = 0, 0, 1 << 10  # BPF_F_MMAPABLE
    elif t in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        inner = MapCreateAttr(map_type=int(MapType.ARRAY), key_size=4, value_size=4,
                              max_entries=1)
        ifd, err = bpf_raw(Cmd.MAP_CREATE, inner)
        if err:
            return False
        a.inner_map_fd = ifd
        try:
            return _create(a) == 0
        finally:
            close_fd(ifd)
    elif t in (MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
               MapType.CGRP_STORAGE):
        from .programs import load_btf

        try:
            btf_fd = load_btf(_tiny_btf())
        except Exception:
            return False
        a.max_entries, a.map_flags = 0, 1
        a.btf_fd, a.btf_key_type_id, a.btf_value_type_id = btf_fd, 1, 1
        try:
            return _create(a) == 0
        finally:
            close_fd(btf_fd)
    return _create(a) == 0


def probe_helper(prog_type: ProgType, helper: int) -> bool:
    """True if a ``prog_type`` program may call helper ``helper`` (by id)."""
    code = struct.pack("<BBhi", 0x85, 0, 0, helper) + _EXIT0
    err, log = _load(int(prog_type), code, log=True)
    if not err:
        return True
    return not ("invalid func " in log or "unknown func " in log
                or "program of this type cannot use helper" in log)


# -- cache ----------------------------------------------------------------------
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def _cache_path() -> str:
    name = f"features-{_boot_id()}-{os.geteuid()}.json"
    home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    for d in (os.path.join(home, "pybpf"), "/tmp/pybpf-cache"):
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return os.path.join(d, name)
        except OSError:
            continue
    return os.path.join("/tmp", name)


def _read_cache() -> dict[str, Any]:
    try:
        with open(_cache_path()) as f:
            data = json.load(f)
            return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(data: dict[str, Any]) -> None:
    path = _cache_path()
    tmp = f"{path}.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass


@functools.cache
def _cached() -> dict[str, Any]:
    return _read_cache()


def _section(key: str, compute: Any) -> Any:
    data = _cached()
    if key not in data:
        data[key] = compute()
        merged = _read_cache()
        merged.update(data)
        _write_cache(merged)
    return data[key]


def prog_types() -> dict[str, bool]:
    """ProgType name -> supported."""
    return _section("prog_types", lambda: {t.name: probe_prog_type(t) for t in ProgType
                                           if t != ProgType.UNSPEC})


def map_types() -> dict[str, bool]:
    return _section("map_types", lambda: {t.name: probe_map_type(t) for t in MapType
                                          if t != MapType.UNSPEC})


def helpers(prog_type: ProgType) -> list[str]:
    """Names of helpers a ``prog_type`` program may call (empty if the type is unsupported)."""
    def compute() -> list[str]:
        if not prog_types().get(prog_type.name) or prog_type in _BTF_TYPES_MSG:
            return []  # BTF-attached types cannot be probed without a real target
        return [HELPER_NAMES[i] for i in range(1, len(HELPER_NAMES))
                if probe_helper(prog_type, i)]
    return list(_section(f"helpers:{prog_type.name}", compute))


def _probe_code(code: bytes) -> bool:
    return _load(int(ProgType.SOCKET_FILTER), code)[0] == 0


def _misc_probes() -> dict[str, bool]:
    """Instruction-set and verifier features, as bpftool's "miscellaneous" section."""
    ins = struct.Struct("<BBhi").pack
    mov0, exit_ = ins(0xB7, 0, 0, 0), ins(0x95, 0, 0, 0)
    return {
        # more than 4096 instructions for a privileged loader (5.2)
        "large_insn_limit": _probe_code(mov0 * 4097 + exit_),
        # r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop  (5.3)
        "bounded_loops": _probe_code(ins(0xB7, 0, 0, 10) + ins(0x17, 0, 0, 1)
                                     + ins(0x55, 0, -2, 0) + exit_),
        # v2: jlt (4.14)
        "isa_v2_ext": _probe_code(mov0 + ins(0xA5, 0, 0, 1) + exit_),
        # v3: jmp32 and alu32 jumps (5.1)
        "isa_v3_ext": _probe_code(mov0 + ins(0xA6, 0, 0, 1) + exit_),
        # v4: sign-extending mov, sdiv, bswap, gotol (6.6)
        "isa_v4_ext": _probe_code(mov0 + ins(0xBF, 0, 8, 0) + ins(0x37, 0, 1, 1)
                                  + ins(0xD7, 0, 0, 16) + exit_),
    }


def misc() -> dict[str, bool]:
    """large_insn_limit, bounded_loops, isa_v2_ext, isa_v3_ext, isa_v4_ext -> supported."""
    return dict(_section("misc", _misc_probes))


def have_prog_type(t: ProgType) -> bool:
    return bool(prog_types().get(ProgType(t).name))


def have_map_type(t: MapType) -> bool:
    return bool(map_types().get(MapType(t).name))


def have_helper(prog_type: ProgType, helper: str | int) -> bool:
    """Whether a ``prog_type`` program may call ``helper`` (an id, or a name with or
    without the ``bpf_`` prefix)."""
    if isinstance(helper, str):
        name = helper.removeprefix("bpf_")
        if name not in HELPER_IDS:
            raise BadInput(f"unknown helper {helper!r}: check the spelling "
                           "(e.g. map_lookup_elem or bpf_map_lookup_elem)")
    elif 0 < helper < len(HELPER_NAMES):
        name = HELPER_NAMES[helper]
    else:
        raise BadInput(f"unknown helper id {helper}: ids are 1..{len(HELPER_NAMES) - 1}")
    return name in helpers(ProgType(prog_type))


def missing_map_type(t: MapType) -> str | None:
    """A skip reason if map type ``t`` is not available here, else None."""
    return None if have_map_type(t) else f"kernel lacks map type {MapType(t).name.lower()}"


def missing_prog_type(t: ProgType) -> str | None:
    return None if have_prog_type(t) else f"kernel lacks program type {ProgType(t).name.lower()}"


def bpf_available() -> str | None:
    """None if bpf() works here, else why not (one line)."""
    a = MapCreateAttr(map_type=int(MapType.ARRAY), key_size=4, value_size=4, max_entries=1)
    err = _create(a)
    if not err:
        return None
    if err in (E.EPERM, E.EACCES):
        return "bpf() not permitted (need root or CAP_BPF)"
    return f"bpf() fails: {os.strerror(err)}"


def clear_cache() -> None:
    _cached.cache_clear()
    try:
        os.unlink(_cache_path())
    except OSError:
        pass
