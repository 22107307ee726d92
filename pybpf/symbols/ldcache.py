"""Find a shared library the way the dynamic linker does: ld.so.cache, then standard dirs.

``libc`` → ``/lib/x86_64-linux-gnu/libc.so.6``; ``libc.so.6`` and absolute paths work too.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import struct

from ..errors import PybpfError

CACHE = "/etc/ld.so.cache"
_NEW_MAGIC = b"glibc-ld.so.cache1.1"
_OLD_MAGIC = b"ld.so-1.7.0"
# FLAG_* of the cache entries: ELF libc6 (3) + the arch's library flags (mask 0xff00)
_ARCH_FLAGS = {"x86_64": 0x0300, "aarch64": 0x0A00, "riscv64": 0x1000, "ppc64le": 0x0500,
               "s390x": 0x0400}
STANDARD_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                 "/lib", "/usr/lib", "/usr/local/lib")


def parse_ld_cache(data: bytes, machine: str | None = None) -> dict[str, str]:
    """soname → path of the entries for this machine (new format, alone or after the old one)."""
    start = data.find(_NEW_MAGIC)
    if start < 0:
        return {}
    want = _ARCH_FLAGS.get(machine or platform.machine())
    nlibs, = struct.unpack_from("<I", data, start + 20)
    out: dict[str, str] = {}
    entries = start + 48  # header: magic+version (20), nlibs, len_strings, flags, ext, unused
    for i in range(nlibs):
        flags, key, value, _osv, _hwcap = struct.unpack_from("<iIIIQ", data, entries + 24 * i)
        if want is not None and (flags & 0xFF00) != want:
            continue
        k = _cstr(data, start + key) if key < start else _cstr(data, key)
        v = _cstr(data, start + value) if value < start else _cstr(data, value)
        out.setdefault(k, v)  # first entry wins, as in the linker (highest hwcap first)
    return out


def _cstr(data: bytes, off: int) -> str:
    end = data.find(b"\0", off)
    return data[off:end].decode(errors="replace")


@functools.cache
def ld_cache() -> dict[str, str]:
    try:
        with open(CACHE, "rb") as f:
            return parse_ld_cache(f.read())
    except OSError:
        return {}


def _candidates(name: str) -> list[str]:
    base = name if name.startswith("lib") else "lib" + name
    return [name, base, f"{base}.so"] if "." in name else [f"{base}.so", base]


def find_library(name: str) -> str | None:
    """Path of library ``name`` (``libc``, ``c``, ``libc.so.6``) or None."""
    cache = ld_cache()
    cands = _candidates(name)
    for c in cands:
        if c in cache:
            return cache[c]
    base = cands[0] if "." not in name else None
    if base:  # libc -> libc.so.6: the versioned soname
        for key in sorted(cache):
            if key.startswith(base + "."):
                return cache[key]
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d] + list(STANDARD_DIRS)
    for d in dirs:
        for c in cands:
            p = os.path.join(d, c)
            if _is_elf(p):
                return p
        if base and os.path.isdir(d):
            matches = sorted(f for f in os.listdir(d) if f.startswith(base + ".")
                             and _is_elf(os.path.join(d, f)))
            if matches:
                return os.path.join(d, matches[0])
    return None


def _is_elf(path: str) -> bool:
    """True for an ELF file (libc.so in a lib dir is a linker script, not a library)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def resolve_binary(name: str) -> str:
    """A probe target: absolute/relative path, a library name, or a program on $PATH."""
    if "/" in name:
        if not os.path.exists(name):
            raise PybpfError(f"{name}: no such file")
        return os.path.realpath(name)
    lib = find_library(name) if name.startswith("lib") or ".so" in name else None
    if lib:
        return os.path.realpath(lib)
    exe = shutil.which(name)
    if exe:
        return os.path.realpath(exe)
    lib = find_library(name)
    if lib:
        return os.path.realpath(lib)
    raise PybpfError(f"{name}: not a file, a library in ld.so.cache, or a program on $PATH")
