"""Compiled scripts kept on disk, so a script run again skips the compiler.

Compiling is pure: the same source, parameters and options give the same programs on
the same kernel. What the compiler reads from the system (tracepoint formats and
lists, kernel BTF, kallsyms) cannot change until the next boot or a module (un)load,
so an entry is keyed by the script and options, pybpf's own code, the boot and the
loaded modules, and the ``BPFTRACE_*``/``PYBPF_*`` settings. Scripts that read user
binaries at compile time (uprobes, USDT, ``uaddr``, ``cgroupid``) are never stored:
a binary can change at any time. The entry repeats its whole key and is used only on
an exact match. Stored under ``$PYBPF_CACHE_DIR`` (default ``~/.cache/pybpf``) in
``scripts/``; only a directory owned by this user and writable by nobody else is
trusted; ``PYBPF_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .script import CompiledScript

_FORMAT = 1
_UNSTORABLE_PROVIDERS = frozenset({"uprobe", "uretprobe", "usdt"})
_UNSTORABLE_TEXT = ("uaddr", "cgroupid")  # compile-time reads of binaries / cgroupfs
_SKIP_ENV = frozenset({"PYBPF_CACHE_DIR", "PYBPF_NO_CACHE", "PYBPF_TRACE_RINGBUF"})


def _cache_dir() -> str | None:
    from .._cachedir import cache_root

    root = cache_root()
    if root is None:
        return None
    d = os.path.join(root, "scripts")
    try:
        st = os.stat(d)
    except FileNotFoundError:
        return d
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None  # someone else could plant an entry: do not load from it
    return d


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _code_stamp() -> tuple[int, ...]:
    """Modification times of this package's compiler and spec modules."""
    here = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.dirname(here)
    stamps: list[int] = []
    for d in (here, pkg, os.path.join(pkg, "asm")):
        try:
            with os.scandir(d) as it:
                stamps.extend(e.stat().st_mtime_ns for e in it if e.name.endswith(".py"))
        except OSError:
            stamps.append(-1)
    return tuple(sorted(stamps))


def script_key(source: str, filename: str, params: list[str], unsafe: bool,
               child: bool) -> tuple[Any, ...] | None:
    """The entry's key, or None when this script must be compiled afresh."""
    if os.environ.get("PYBPF_NO_CACHE") or any(t in source for t in _UNSTORABLE_TEXT):
        return None
    from .. import __version__

    env = tuple(sorted((k, v) for k, v in os.environ.items()
                       if k.startswith(("BPFTRACE_", "PYBPF_")) and k not in _SKIP_ENV))
    return (_FORMAT, __version__, _code_stamp(),
            _read("/proc/sys/kernel/random/boot_id"), _read("/proc/modules"),
            source, filename, tuple(params), unsafe, child, env)


def _path(key: tuple[Any, ...]) -> str | None:
    from binascii import crc32

    d = _cache_dir()
    if d is None:
        return None
    return os.path.join(d, f"{crc32(repr(key[5:]).encode()):08x}.pickle")


def lookup(key: tuple[Any, ...] | None) -> CompiledScript | None:
    """The script compiled earlier under exactly ``key``, or None."""
    if key is None:
        return None
    path = _path(key)
    data = _read(path) if path else b""
    if not data:
        return None
    import pickle

    try:
        stored_key, script = pickle.loads(data)
    except Exception:  # noqa: BLE001 - a damaged or old entry is a miss
        return None
    return script if stored_key == key else None  # type: ignore[no-any-return]


def store(key: tuple[Any, ...] | None, script: CompiledScript) -> None:
    """Keep ``script`` for the next run (when it can be kept: see the module doc)."""
    if key is None or script.btf is not None:
        return
    if any(p.probe.provider in _UNSTORABLE_PROVIDERS for p in script.programs):
        return
    path = _path(key)
    if path is None:
        return
    import pickle

    try:
        blob = pickle.dumps((key, script), protocol=pickle.HIGHEST_PROTOCOL)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # not kept: the next run compiles again
