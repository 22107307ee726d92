"""The running kernel's BTF: /sys/kernel/btf/vmlinux and per-module split BTF.

Loaded once per process and shared: every part of pybpf that asks gets the same
lazily-indexed ``Btf`` object.
"""

from __future__ import annotations

import os

from .format import Kind
from .parse import Btf, BtfNotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYSFS_BTF = "/sys/kernel/btf"

_vmlinux: Btf | None = None
_modules: dict[str, Btf] = {}


def vmlinux(path: str | None = None) -> Btf:
    """The kernel's own BTF (cached). ``path`` overrides the sysfs file (tests, offline use)."""
    global _vmlinux
    if path is not None:
        return Btf.from_file(path)
    if _vmlinux is None:
        p = os.path.join(SYSFS_BTF, "vmlinux")
        if not os.path.exists(p):
            raise BtfNotFound(
                f"{p}: this kernel exposes no BTF; it needs CONFIG_DEBUG_INFO_BTF=y")
        _vmlinux = _open_sysfs(p)
    return _vmlinux


def _open_sysfs(path: str, base: Btf | None = None) -> Btf:
    """A sysfs BTF file, mapped privately where the kernel allows it (6.16+ exports the
    file for mmap) so that only the pages lookups touch are read; vmlinux's lookups
    persist per boot (``lookup_memo``)."""
    import mmap

    from . import parse

    with open(path, "rb") as f:
        try:
            data: Any = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
            parse._MMAP = mmap.mmap
        except (OSError, ValueError):
            data = f.read()
    btf = Btf(data, base, os.path.basename(path))
    if base is None:
        from .lookup_memo import use_disk_memo

        use_disk_memo(btf, len(data))
    return btf


def module_names() -> list[str]:
    """Loaded modules that carry BTF."""
    try:
        return sorted(n for n in os.listdir(SYSFS_BTF) if n != "vmlinux")
    except FileNotFoundError:
        return []


def module_btf(name: str) -> Btf:
    """Split BTF of a loaded module, over ``vmlinux()`` (cached)."""
    btf = _modules.get(name)
    if btf is None:
        p = os.path.join(SYSFS_BTF, name)
        if "/" in name or not os.path.exists(p):
            raise BtfNotFound(f"{p}: module {name!r} is not loaded or has no BTF "
                              f"(CONFIG_DEBUG_INFO_BTF_MODULES)")
        btf = _modules[name] = _open_sysfs(p, base=vmlinux())
    return btf


def find_kernel_type(name: str, kind: Kind | None = None) -> tuple[Btf, int]:
    """Find ``name`` in vmlinux, then in each loaded module's own types."""
    base = vmlinux()
    ids = base.find_all(name, kind)
    if ids:
        return base, base.find(name, kind)
    for mod in module_names():
        btf = module_btf(mod)
        own = [i for i in btf.find_all(name, kind) if i >= btf.start_id]
        if own:
            return btf, own[0]
    what = f"{kind.name.lower()} " if kind is not None else ""
    raise BtfNotFound(f"no {what}type named {name!r} in kernel BTF (vmlinux or modules)")


def clear_cache() -> None:
    """Forget cached BTF (after modules load or unload)."""
    global _vmlinux
    _vmlinux = None
    _modules.clear()
