"""Fast teardown of many links.

Closing a perf event on a tracepoint costs one RCU grace period (~35 ms here),
taken under the kernel's ``event_mutex``, so 360 probes closed one by one take
~25 s (bpftrace's exit after ``tracepoint:syscalls:sys_enter_*``). Two ways out:

- ``threads``: close all bpf link fds concurrently (their grace periods are
  shared: N links cost about one), then the perf fds. Returns when the kernel is done.
- ``reaper`` (default): hand every fd to a detached grandchild process that
  does the closing, and return at once. The reaper keeps only those fds (not
  stdout: a reader of our pipe sees EOF when we exit, not when it is done).
  The programs stop running as soon as the links are gone (the reaper closes
  those first, concurrently); ``wait()`` on the returned handle blocks until
  the kernel has released everything.
"""

from __future__ import annotations

import os
import select
import threading

from .syscall import close_fd as _close_quiet

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def close_concurrently(fds: list[int], max_threads: int = 64) -> None:
    """Close ``fds`` from up to ``max_threads`` threads (os.close releases the GIL)."""
    if len(fds) <= 1:
        for fd in fds:
            _close_quiet(fd)
        return
    it = iter(list(fds))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                fd = next(it, None)
            if fd is None:
                return
            _close_quiet(fd)

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(min(max_threads, len(fds)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Teardown:
    """What ``close_links`` returns: ``wait()`` until the kernel has released it all."""

    def __init__(self, done_fd: int = -1, count: int = 0) -> None:
        self._done_fd = done_fd
        self.count = count

    @property
    def done(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reaper has closed every fd (True), or ``timeout`` passes (False)."""
        if self._done_fd < 0:
            return True
        r, _, _ = select.select([self._done_fd], [], [], timeout)
        if not r:
            return False
        while os.read(self._done_fd, 4096):
            pass
        os.close(self._done_fd)
        self._done_fd = -1
        return True

    def __del__(self) -> None:
        if self._done_fd >= 0:
            _close_quiet(self._done_fd)


def take_link_fds(links: Iterable[Any]) -> tuple[list[int], list[int]]:
    """(bpf link fds, other fds: perf events...) of the links, taking ownership from them
    (a ``MultiLink``'s parts included); closing the first group stops the programs."""
    first: list[int] = []
    rest: list[int] = []
    stack = list(links)
    while stack:
        link = stack.pop()
        subs = getattr(link, "links", None)
        if subs is not None and not link.closed:
            link.closed = True
            stack.extend(subs)
            continue
        link_fd = getattr(link, "fd", -1)
        for fd in link.take_fds():
            (first if fd == link_fd else rest).append(fd)
    return first, rest


def close_links(links: Iterable[Any], *, mode: str = "reaper") -> Teardown:
    """Detach and release many links fast; ``mode`` is ``reaper``, ``threads`` or ``sequential``."""
    first, rest = take_link_fds(links)
    n = len(first) + len(rest)
    if mode == "sequential":
        for fd in first + rest:
            _close_quiet(fd)
        return Teardown(count=n)
    if mode == "threads" or n <= 1:
        close_concurrently(first)
        close_concurrently(rest)
        return Teardown(count=n)
    if mode != "reaper":
        raise ValueError(f"unknown teardown mode {mode!r}: use reaper, threads or sequential")
    return _reap(first, rest)


def _keep_only(fds: list[int]) -> None:
    """Close every inherited fd but ``fds`` (close_range: one syscall per gap)."""
    top = os.sysconf("SC_OPEN_MAX")
    low = 0
    for fd in sorted(set(fds)):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(top, low))


def _reap(first: list[int], rest: list[int]) -> Teardown:
    r, w = os.pipe()
    go_r, go_w = os.pipe()  # the reaper starts only once we dropped our references
    pid = os.fork()
    if pid == 0:  # child: start the reaper (grandchild) and leave at once
        code = 0
        try:
            os.close(r)
            os.close(go_w)
            os.setsid()  # out of the terminal's process group: Ctrl-C must not stop it
            if os.fork() == 0:
                try:
                    _keep_only(first + rest + [w, go_r])  # not our stdout: readers see EOF
                    os.read(go_r, 1)  # EOF once the caller closed its copies
                    close_concurrently(first)  # programs stop running here
                    close_concurrently(rest)
                finally:
                    os._exit(0)  # closes w: the parent's wait() sees EOF
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    os.close(go_r)
    _, status = os.waitpid(pid, 0)
    if status != 0:  # could not fork the reaper: do it here
        os.close(r)
        os.close(go_w)
        close_concurrently(first)
        close_concurrently(rest)
        return Teardown(count=len(first) + len(rest))
    # The reaper holds its own references, so dropping ours is cheap -- as long as it
    # has not closed its copies first, which is why it waits for go_w to close.
    for fd in first + rest:
        _close_quiet(fd)
    os.close(go_w)
    return Teardown(r, len(first) + len(rest))
