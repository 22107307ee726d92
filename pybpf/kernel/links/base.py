"""The one ``Link`` interface every attach kind implements.

A link owns its kernel fds (bpf link fd, perf event fds, ...) and detaches the
program when closed: by ``close()``, by leaving a ``with`` block, or when the
last reference goes away. ``take_fds()`` hands the fds to someone else (the
fast teardown in ``kernel/teardown.py``) without closing them here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ...errors import PybpfError


def prog_fd_of(prog: Any) -> int:
    """Accept a loaded program object (``.fd``) or a raw fd."""
    if isinstance(prog, int):
        return prog
    fd = getattr(prog, "fd", None)
    if not isinstance(fd, int) or fd < 0:
        raise PybpfError(f"cannot attach {prog!r}: it is not a loaded program")
    return fd


def prog_name_of(prog: Any) -> str:
    return str(getattr(prog, "name", "") or (f"fd {prog}" if isinstance(prog, int) else "prog"))


class Link:
    """An attached program. ``fd`` is the bpf link fd where one exists, else -1."""

    kind = "link"

    def __init__(self, target: str, fds: list[int] | None = None, link_fd: int = -1,
                 on_close: Callable[[], None] | None = None) -> None:
        self.target = target
        self.fd = link_fd
        self._fds: list[int] = list(fds or [])
        if link_fd >= 0 and link_fd not in self._fds:
            self._fds.insert(0, link_fd)
        self._on_close = on_close
        self.closed = False

    def fileno(self) -> int:
        return self.fd

    @property
    def fds(self) -> tuple[int, ...]:
        return tuple(self._fds)

    def _own(self, fd: int) -> int:
        self._fds.append(fd)
        return fd

    def take_fds(self) -> list[int]:
        """Give up ownership: run the detach hook, return the fds for the caller to close."""
        if self.closed:
            return []
        self.closed = True
        if self._on_close is not None:
            self._on_close()
        fds, self._fds = self._fds, []
        return fds

    def close(self) -> None:
        """Detach the program and release every fd this link owns (idempotent)."""
        for fd in reversed(self.take_fds()):
            try:
                os.close(fd)
            except OSError:
                pass

    detach = close

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _need_link_fd(self, what: str) -> int:
        if self.closed or self.fd < 0:
            raise PybpfError(f"{what} {self.kind} {self.target}: "
                             + ("the link is closed" if self.closed else "it has no bpf link"))
        return self.fd

    def update(self, prog: Any, *, expected: Any = None) -> None:
        """Swap in another program atomically (BPF_LINK_UPDATE); with ``expected``, only
        if that program is the one attached now."""
        from ._sys import link_update

        fd = self._need_link_fd("update")
        try:
            link_update(fd, prog_fd_of(prog), prog_fd_of(expected) if expected else 0)
        except OSError as e:
            raise attach_errno(f"update {self.kind} {self.target}", e) from None

    def pin(self, path: str) -> None:
        """Pin the link in bpffs: it stays attached after this process exits."""
        from ._sys import obj_pin

        try:
            obj_pin(self._need_link_fd("pin"), path)
        except OSError as e:
            raise PybpfError(f"pin {self.kind} {self.target} at {path}: {e.strerror}") from None

    def info(self) -> dict[str, int]:
        """``bpf_link_info``'s id, type and prog id (needs a bpf link fd)."""
        if self.fd < 0:
            return {}
        import struct

        from ._sys import obj_info

        ltype, lid, pid = struct.unpack_from("<III", obj_info(self.fd, 64))
        return {"type": ltype, "id": lid, "prog_id": pid}

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fds={self._fds}"
        return f"<{type(self).__name__} {self.kind} {self.target!r} {state}>"


class MultiLink(Link):
    """Several links acting as one (a probe with many locations, an event on every CPU)."""

    kind = "multi"

    def __init__(self, target: str, links: list[Link]) -> None:
        super().__init__(target)
        self.links = links

    def take_fds(self) -> list[int]:
        if self.closed:
            return []
        self.closed = True
        out: list[int] = []
        for link in self.links:
            out.extend(link.take_fds())
        return out

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for link in reversed(self.links):
            link.close()

    def __len__(self) -> int:
        return len(self.links)


def attach_errno(what: str, err: OSError, hint: str = "") -> PybpfError:
    """One line for a failed attach: what, the errno text and what to do."""
    msg = f"attach {what}: {err.strerror or err}"
    return PybpfError(msg + (f" ({hint})" if hint else ""))
