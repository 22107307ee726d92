"""Load a whole CollectionSpec into the kernel: maps first, then programs.

All or nothing: if any map or program fails, everything created so far is
closed (and pins made here removed) before the error propagates, so a failed
load leaves no kernel objects behind.
"""

from __future__ import annotations

import os

from ..collection import Collection
from ..errors import PybpfError
from ..mapapi import Map
from ..spec import CollectionSpec, MapSpec
from ..uapi import MapType
from .maps import KernelMap, load_map
from .programs import KernelProgram, _btf_blob, load_btf, load_program
from .syscall import close_fd

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class KernelCollection(Collection):
    """A Collection that also owns the BTF object its maps and programs were loaded with."""

    def __init__(self, programs: dict[str, KernelProgram], maps: dict[str, KernelMap],
                 btf_fd: int = -1) -> None:
        super().__init__(dict(programs), dict[str, Map](maps))
        self.btf_fd = btf_fd

    def close(self) -> None:
        super().close()
        if self.btf_fd >= 0:
            close_fd(self.btf_fd)
            self.btf_fd = -1


def load_collection(spec: CollectionSpec, *, log_level: int = 0, pin_dir: str | None = None,
                    programs: list[str] | None = None,
                    given: Mapping[str, KernelMap] | None = None,
                    **prog_opts: Any) -> KernelCollection:
    """Create every map (contents written, frozen if asked), then load every program
    (``programs`` limits which). With ``pin_dir`` each map without its own pin path is
    pinned at ``pin_dir/<name>``, reusing an existing pin of the same name (like libbpf's
    pin-by-name). ``given``: maps already created for some names (the collection owns
    them from here on, closing them on failure too)."""
    maps: dict[str, KernelMap] = dict(given or {})
    progs: dict[str, KernelProgram] = {}
    pinned: list[str] = []
    btf_fd = -1
    try:
        blob = _btf_blob(spec.btf)
        if blob:
            btf_fd = load_btf(blob)
        for name, ms in spec.maps.items():
            if name in maps:
                continue
            path = ms.pin_path or (os.path.join(pin_dir, name) if pin_dir else None)
            if path and os.path.exists(path):
                maps[name] = _reuse_pinned(path, ms)
                continue
            ms2 = ms.copy()
            ms2.pin_path = None
            m = load_map(ms2, btf_fd=max(btf_fd, 0))
            maps[name] = m
            if path:
                m.pin(path)
                pinned.append(path)
        for name, ps in spec.programs.items():
            if not ps.autoload or (programs is not None and name not in programs):
                continue
            if btf_fd >= 0 and "btf_fd" not in prog_opts and (ps.func_info or ps.line_info):
                opts = dict(prog_opts, btf_fd=btf_fd)
            else:
                opts = prog_opts
            progs[name] = load_program(ps, maps, log_level=log_level, **opts)
    except BaseException:
        for p in progs.values():
            p.close()
        for m in maps.values():
            m.close()
        for path in pinned:
            try:
                os.unlink(path)
            except OSError:
                pass
        if btf_fd >= 0:
            close_fd(btf_fd)
        raise
    return KernelCollection(progs, maps, btf_fd)


def _reuse_pinned(path: str, ms: MapSpec) -> KernelMap:
    """The map pinned at ``path`` if it has the shape ``ms`` asks for (like libbpf's reuse)."""
    m = KernelMap.open_pinned(path)
    want: tuple[int, ...] = (ms.type, ms.key_size, ms.value_size, ms.max_entries)
    have: tuple[int, ...] = (m.type, m.key_size, m.value_size, m.max_entries)
    if ms.type in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY):  # sized by the kernel
        want, have = want[:1], have[:1]
    if want != have:
        m.close()
        raise PybpfError(
            f"map {ms.name!r}: the map pinned at {path} is {m.type.name.lower()} "
            f"key={m.key_size} value={m.value_size} max={m.max_entries}, but the spec wants "
            f"{ms.type.name.lower()} key={ms.key_size} value={ms.value_size} "
            f"max={ms.max_entries}; unpin it (rm {path}) or change the spec")
    return m
