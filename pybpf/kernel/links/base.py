"""The one ``Link`` interface every attach kind implements.

A link owns its kernel fds (bpf link fd, perf event fds, ...) and detaches the
program when closed: by ``close()``, by leaving a ``with`` block, or when the
last reference goes away. ``take_fds()`` hands the fds to someone else (the
fast teardown in ``kernel/teardown.py``) without closing them here.
"""

from __future__ import annotations

from ...errors import PybpfError

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any, TypeVar

if TYPE_CHECKING:
    import ctypes

    from ..errors import BpfError

F_REPLACE = 1 << 2  # BPF_F_REPLACE (link update: only if the old program matches)


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
        from ..syscall import close_fd

        for fd in reversed(self.take_fds()):
            close_fd(fd)

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
        from ...uapi import Cmd
        from ..syscall import LinkUpdateAttr

        attr = LinkUpdateAttr(link_fd=self._need_link_fd("update"), new_prog_fd=prog_fd_of(prog))
        if expected:
            attr.flags = F_REPLACE
            attr.old_prog_fd = prog_fd_of(expected)
        bpf_call(Cmd.LINK_UPDATE, attr, f"update {self.kind} {self.target}")

    def pin(self, path: str) -> None:
        """Pin the link in bpffs: it stays attached after this process exits."""
        from ..pin import obj_pin

        obj_pin(self._need_link_fd("pin"), path)

    def info(self) -> dict[str, int]:
        """``bpf_link_info``'s id, type and prog id (needs a bpf link fd)."""
        if self.fd < 0:
            return {}
        import ctypes

        from ...uapi import Cmd
        from ..syscall import InfoAttr, LinkInfo, addr_of

        info = LinkInfo()
        attr = InfoAttr(bpf_fd=self.fd, info_len=ctypes.sizeof(info), info=addr_of(info))
        bpf_call(Cmd.OBJ_GET_INFO_BY_FD, attr, f"info of {self.kind} {self.target}")
        return {"type": int(info.type), "id": int(info.id), "prog_id": int(info.prog_id)}

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


if TYPE_CHECKING:
    T = TypeVar("T")


def attach_each(items: Iterable[T], attach_one: Callable[[T], Link]) -> list[Link]:
    """``attach_one`` for every item; if one fails, close those already made and re-raise
    (a probe with many locations attaches fully or not at all)."""
    links: list[Link] = []
    try:
        for item in items:
            links.append(attach_one(item))
    except BaseException:
        for link in links:
            link.close()
        raise
    return links


def bpf_failure(cmd: int, err: int, action: str, hint: str = "") -> BpfError:
    """The exception for a failed bpf() attach step: ``action`` (e.g. "attach xdp eth0")
    and the reason ``kernel/errors.py`` gives for this errno, with an attach-kind ``hint``."""
    from ...uapi import Cmd
    from ..errors import error_for

    generic = error_for(Cmd(cmd), err)  # "<doing>: <reason>"; we name the place ourselves
    reason = str(generic).partition(": ")[2] or str(generic)
    return type(generic)(f"{action}: {reason}" + (f" ({hint})" if hint else ""), err, Cmd(cmd))


def bpf_call(cmd: int, attr: ctypes.Structure, action: str,
             hints: Mapping[int, str] | None = None) -> int:
    """bpf(cmd, attr) through ``kernel/syscall.py``; on failure raise ``bpf_failure``, with
    ``hints[errno]`` where the attach kind knows better than the generic text."""
    from ..syscall import bpf_raw

    ret, err = bpf_raw(cmd, attr)
    if err:
        raise bpf_failure(cmd, err, action, (hints or {}).get(err, ""))
    return ret


def attach_errno(what: str, err: OSError, hint: str = "") -> PybpfError:
    """One line for an attach step that failed outside bpf() (ioctl, setsockopt)."""
    msg = f"attach {what}: {err.strerror or err}"
    return PybpfError(msg + (f" ({hint})" if hint else ""))
