"""The Python API of the tracer: ``pybpf.trace(script)`` → a live ``TraceSession``.

    s = pybpf.trace('tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }')
    ...                      # s.maps["@"] is a dict you can read at any time
    for line in s.events(timeout=1): ...   # printf/print output, as text
    final = s.stop()         # END runs; the final maps as dicts; everything closed

The ring buffer is read by a background thread, so events arrive in order while
the caller does its own work; ``on_event`` gets each piece of output as it comes.
"""

from __future__ import annotations

import queue
import threading

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

_DONE = object()


class _Sink:
    """A text stream for the printer: every write is one event."""

    def __init__(self, q: queue.Queue[Any], callback: Callable[[str], Any] | None) -> None:
        self.q = q
        self.callback = callback
        self.enabled = True

    def write(self, text: str) -> int:
        if text and self.enabled:
            if self.callback is not None:
                self.callback(text)
            else:
                self.q.put(text)
        return len(text)

    def flush(self) -> None:
        pass


class TraceSession:
    """A running script. Read ``maps`` any time; ``stop()`` ends it and returns the maps."""

    def __init__(self, script: Any, *, pid: int = -1, compat: str | None = None,
                 on_event: Callable[[str], Any] | None = None, unsafe: bool = False) -> None:
        from .session import KernelSession

        self._q: queue.Queue[Any] = queue.Queue()
        self._sink = _Sink(self._q, on_event)
        self.script = script
        self._sess = KernelSession(script, self._sink, quiet=True, pid=pid,  # type: ignore[arg-type]
                                   compat=compat, unsafe=unsafe)
        self._sess.batch_writes = False  # each printf is one event for the caller
        self._sess.start()
        self._final: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._loop, name="pybpf-trace", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        """The reader thread: events until the end, then END and the final maps."""
        sess = self._sess
        try:
            sess.loop()
            sess.detach()
            sess.drain()
            sess.printer.exited = False
            for meta in self.script.programs_for("END"):
                sess._run_special(meta)
            self._final = self._read_maps()
        finally:
            sess.close()
            self._q.put(_DONE)

    # -- reading -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        """False once the session ended (``exit()`` in the script, or ``stop()``)."""
        return self._thread.is_alive()

    @property
    def maps(self) -> dict[str, Any]:
        """Every script map now, by name (``@x``); see ``map_value`` for the shapes."""
        if self._final is not None or not self._thread.is_alive():
            return self._final or {}
        return self._read_maps()

    def _read_maps(self) -> dict[str, Any]:
        dec = self._sess.printer.dec
        out: dict[str, Any] = {}
        for name, meta in sorted(self.script.maps.items()):
            entries = dec.entries(meta, self._sess.coll.maps[meta.bpf_name])
            out[name] = map_value(meta, entries)
        return out

    def events(self, timeout: float | None = None) -> Iterator[str]:
        """Output pieces (printf text, print lines) in event order, until the session
        ends or nothing comes for ``timeout`` seconds."""
        while True:
            try:
                item = self._q.get(timeout=timeout)
            except queue.Empty:
                return
            if item is _DONE:
                self._q.put(_DONE)
                return
            yield item

    # -- ending ------------------------------------------------------------------
    def stop(self) -> dict[str, Any]:
        """End the session: detach, run END, read the final maps, close everything."""
        self._sess.request_stop("stop")
        self._thread.join()
        return self._final if self._final is not None else {}

    close = stop

    def __enter__(self) -> TraceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def map_value(meta: Any, entries: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """A map as Python data: a keyless map is its value; a keyed one a dict by key
    (a single key unwrapped, several as a tuple). Histograms are ``{bucket: count}``
    dicts, avg/stats ``runtime``'s ``Stats`` (``count``, ``total``, ``average``)."""
    def conv(v: Any) -> Any:
        buckets = getattr(v, "buckets", None)
        return dict(sorted(buckets.items())) if buckets is not None else v

    if not meta.keys:
        return conv(entries[0][1]) if entries else None
    return {(k[0] if len(k) == 1 else k): conv(v) for k, v in entries}


def trace(script: str, *, pid: int = -1, params: list[str] | None = None,
          unsafe: bool = False, compat: str | None = None,
          on_event: Callable[[str], Any] | None = None) -> TraceSession:
    """Compile ``script``, load and attach it, and start reading its events.

    Raises ``CompileError`` (``.text`` in bpftrace's format) or ``PybpfError``;
    nothing stays attached when it raises.
    """
    from .expand import compile_for_kernel

    compiled = compile_for_kernel(script, unsafe=unsafe, params=params)
    return TraceSession(compiled, pid=pid, compat=compat, on_event=on_event, unsafe=unsafe)
