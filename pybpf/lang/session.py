"""The tracing runtime on the real kernel: what ``pybpf trace`` does after compiling.

Order, as bpftrace: load every map and program, write the start time into
``globals``, run BEGIN (if it calls ``exit()`` nothing else is attached), attach
every probe, let the ``-c`` child go, then loop over the ring buffer turning
records into output (``runtime.Session`` decodes them) until ``exit()``, Ctrl-C,
SIGTERM, the child's or ``-p`` process's exit, or a deadline. At the end all
links are released at once (``release_links``: programs stop at once, the slow
perf-event closes go to a background reaper), END runs, every map is printed and the
collection is closed. Nothing stays attached on any path out.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import time

from ..errors import PybpfError
from ..uapi import AttachType
from .probes import ProbeSpec
from .script import CPID, GLOBALS, LOST, MAPFULL, RINGBUF, CompiledScript, ProgramMeta

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

# bpftrace's default sample periods of software events (a count of events)
SOFTWARE_DEFAULTS = {"cpu-clock": 1_000_000, "cpu": 1_000_000, "task-clock": 1_000_000,
                     "page-faults": 100, "faults": 100, "context-switches": 1000, "cs": 1000,
                     "cpu-migrations": 1, "migrations": 1, "minor-faults": 100,
                     "major-faults": 1, "alignment-faults": 1, "emulation-faults": 1,
                     "dummy": 1, "bpf-output": 1}
SPECIAL = ("BEGIN", "END")
RING_SIZE_DEFAULT = 16 << 20
FULL_CHECK_PERIOD = 0.2  # seconds between looks at the programs' map-full flags
# The drop counter the runtime reports, if the compiler emits it: an ARRAY or
# PERCPU_ARRAY with one u64 at key 0, incremented when ringbuf_output fails.
LOST_MAP = LOST
_HDR = struct.Struct("<QQ").unpack_from
_MISSING = object()


def _ring_size_default() -> int:
    """Ring buffer bytes: PYBPF_TRACE_RINGBUF (rounded up to a power of two), else 16 MiB.

    A printf storm outruns any Python reader for a moment; the ring absorbs the burst
    (bpftrace's perf buffers slow the producer with a wakeup per event instead). Only
    scripts with probes get it: BEGIN/END alone keep the compiler's size (mapping the
    ring costs start-up time and RSS)."""
    raw = os.environ.get("PYBPF_TRACE_RINGBUF", "")
    size = int(raw) if raw.isdigit() else RING_SIZE_DEFAULT
    return 1 << max(size - 1, 4095).bit_length()


def _printf_json(text: str) -> str:
    from .output import printf_json

    return printf_json(text)


# -- attaching: one function per provider, chosen from a table -----------------
def _tracepoint(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.tracepoint import attach_tracepoint

    return attach_tracepoint(prog, f"{p.target}:{p.func}")


def _rawtracepoint(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.raw_tracepoint import attach_raw_tracepoint

    return attach_raw_tracepoint(prog, p.func)


def _timer(prog: Any, p: ProbeSpec, pid: int) -> Any:
    """interval: one CPU; profile: every CPU. ``hz`` is a frequency, else a period in ns."""
    from ..kernel.links.perf import attach_perf_event

    cpus = [0] if p.provider == "interval" else None
    if p.target == "hz":
        return attach_perf_event(prog, "cpu-clock", freq=p.freq, cpus=cpus)
    return attach_perf_event(prog, "cpu-clock", period=p.interval_ns, cpus=cpus)


def _software(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.perf import attach_perf_event
    from .probes import SOFTWARE_EVENTS

    return attach_perf_event(prog, SOFTWARE_EVENTS[p.target],
                             period=p.freq or SOFTWARE_DEFAULTS.get(p.target, 1))


def _uprobe(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.uprobe import attach_uprobe

    where: str | int = p.func if p.address is None else p.address
    return attach_uprobe(prog, p.target, where, p.offset, retprobe=p.provider == "uretprobe",
                         pid=pid)


def _usdt(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.usdt import attach_usdt

    return attach_usdt(prog, p.target, p.ns or "*", p.func, pid=pid)  # usdt:BIN:name: any provider


def _iter(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.iter import attach_iter

    return attach_iter(prog, p.target)


def _kprobe(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.kprobe import attach_kprobe

    return attach_kprobe(prog, p.func, p.offset, retprobe=p.provider == "kretprobe")


def _tracing(prog: Any, p: ProbeSpec, pid: int) -> Any:
    from ..kernel.links.tracing import attach_tracing

    return attach_tracing(prog, p.func)


ATTACH: dict[str, Callable[[Any, ProbeSpec, int], Any]] = {
    "tracepoint": _tracepoint, "rawtracepoint": _rawtracepoint, "interval": _timer,
    "profile": _timer, "software": _software, "uprobe": _uprobe, "uretprobe": _uprobe,
    "usdt": _usdt, "kprobe": _kprobe, "kretprobe": _kprobe, "fentry": _tracing,
    "fexit": _tracing, "iter": _iter,
}


def attach_probe(prog: Any, p: ProbeSpec, pid: int = -1) -> Any:
    """Attach one program where its probe says; a ``PybpfError`` names the probe."""
    fn = ATTACH.get(p.provider)
    if fn is None:
        raise PybpfError(f"{p.name}: {p.provider} probes cannot be attached by pybpf yet")
    try:
        return fn(prog, p, pid)
    except PybpfError as e:
        raise PybpfError(f"Error attaching probe: '{p.name}': {e}") from None
    except OSError as e:
        raise PybpfError(f"Error attaching probe: '{p.name}': {e.strerror or e}") from None


# -- releasing links ------------------------------------------------------------
SYNC_RELEASE_LIMIT = 8  # up to this many fds: close them here, the caller waits
_REAPER = ("import os,sys\n"
           "for a in sys.argv[1:]:\n"
           " try: os.close(int(a))\n"
           " except OSError: pass\n")


def release_links(links: list[Any]) -> Any:
    """Detach ``links``; returns the reaper process still releasing them, or None.

    Closing a tracepoint perf event costs one RCU grace period (~40 ms) under a
    kernel mutex, so 360 of them take ~15 s whatever we do (bpftrace waits that
    out). The bpf link fds go first, concurrently (the programs stop running
    there); a few perf fds are closed here, many are handed to a reaper process
    that inherits only those fds (not our stdout: a pipe reader must see EOF when
    we exit) and closes them in the background.
    """
    from ..kernel.teardown import close_concurrently, take_link_fds

    first, rest = take_link_fds(links)
    close_concurrently(first)  # the programs stop running here
    if len(rest) <= SYNC_RELEASE_LIMIT:
        close_concurrently(rest)
        return None
    import subprocess

    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _REAPER, *map(str, rest)],
                                pass_fds=rest, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        close_concurrently(rest)
        return None
    for fd in rest:  # the reaper holds its own references: these closes are cheap
        os.close(fd)
    return proc


# -- the -c child -------------------------------------------------------------
class Child:
    """A command started stopped: forked now, ``exec``'d only on ``release()``.

    bpftrace holds ``-c`` children until every probe is attached so their first
    events are seen; the pipe is the hold.
    """

    def __init__(self, argv: list[str]) -> None:
        import shutil

        if not argv:
            raise PybpfError("-c: empty command")
        path = argv[0] if "/" in argv[0] else shutil.which(argv[0])
        if path is None or not os.access(path, os.X_OK):
            raise PybpfError(f"-c: command not found: {argv[0]} (give a path or fix PATH)")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: wait for the go byte, then become the command
            try:
                os.close(w)
                if os.read(r, 1) != b"1":
                    os._exit(0)
                os.close(r)
                os.execv(path, argv)
            except BaseException:
                pass
            os._exit(127)
        os.close(r)
        self.pid = pid
        self._go = w
        self.status: int | None = None
        self.pidfd = os.pidfd_open(pid)

    def release(self) -> None:
        if self._go >= 0:
            os.write(self._go, b"1")
            os.close(self._go)
            self._go = -1

    def poll(self) -> int | None:
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def close(self) -> None:
        """Never started: drop it; still running: SIGTERM it; then reap it."""
        if self._go >= 0:
            os.close(self._go)  # EOF: the child leaves without exec
            self._go = -1
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            _, st = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(st)
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


# -- the session --------------------------------------------------------------
class KernelSession:
    """One compiled script live in the kernel; ``run()`` is the whole life of ``pybpf trace``.

    ``out`` gets the script's output (printf, print, maps), ``err`` the "Attached"
    line and warnings. ``compat="0.17"`` prints "Attaching N probes..." on ``out``
    before attaching, as bpftrace 0.17 does; the default prints "Attached N probes"
    on ``err`` after. ``on_record(rec)`` sees raw ring buffer records instead of the
    printer (the Python API's iterator).
    """

    def __init__(self, script: CompiledScript, out: TextIO | None = None, *,
                 err: TextIO | None = None, fmt: str = "text", compat: str | None = None,
                 quiet: bool = False, pid: int = -1, child: list[str] | None = None,
                 unsafe: bool = False, log_level: int = 0, ring_size: int = 0,
                 flush: bool = True, ring_prep: Any = None) -> None:
        self.script = script
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.fmt = fmt
        self.compat = compat
        self.quiet = quiet
        self.pid = pid
        self.log_level = log_level
        self.ring_size = ring_size or _ring_size_default()
        self.ring_prep = ring_prep  # a RingPrep creating the ring meanwhile, or None
        self.flush_events = flush  # False: -B full, the stream flushes when its buffer fills
        self.batch_writes = True  # one write per batch of printf records (False: one each)
        self.coll: Any = None
        self.links: list[Any] = []
        self.ring: Any = None
        self.unsafe = unsafe
        self._printer: Any = None  # runtime.Session, made when first needed (start-up)
        self.child_argv = child
        self.child: Child | None = None
        self.stop_reason = ""
        self.attached_count = 0
        self.events = 0
        self.reaper: Any = None
        self._wake_r = self._wake_w = -1
        self._pidfd = -1
        self._closed = False
        self._stop_requested = False
        self.on_record: Callable[[bytes], None] | None = None
        self._printf_cache: dict[int, Any] = {}
        self._lost_map: Any = None
        self.lost = 0  # events the programs could not put in the ring buffer

    # -- start ---------------------------------------------------------------
    @property
    def probe_count(self) -> int:
        """bpftrace's count: every attach point, BEGIN and END included."""
        return len(self.script.programs)

    def load(self) -> None:
        """Create maps and load programs (the verifier runs here)."""
        from .._gcpause import paused_gc

        with paused_gc():
            self._load()

    def _load(self) -> None:
        from ..kernel.collection import load_collection

        if self.child_argv is not None and self.child is None:
            self.child = Child(self.child_argv)
        spec = self.script.spec
        rb = spec.maps.get(RINGBUF)
        probes = any(m.probe.provider not in SPECIAL for m in self.script.programs)
        if rb is not None and probes and self.ring_size > rb.max_entries:
            from .._record import replace

            spec = replace(spec, maps=dict(spec.maps))  # the compiled spec stays as it was
            rb = rb.copy()
            rb.max_entries = self.ring_size
            spec.maps[RINGBUF] = rb
        given = {}
        if self.ring_prep is not None:
            m = self.ring_prep.take(rb)
            if m is not None:
                given[RINGBUF] = m
            self.ring_prep = None
        iters = [n for n, ps in spec.programs.items() if ps.attach_type == AttachType.TRACE_ITER]
        if not iters:
            self.coll = load_collection(spec, log_level=self.log_level, given=given)
        else:  # iter programs need their bpf_iter_<target> BTF id at load
            self.coll = load_collection(spec, log_level=self.log_level, given=given,
                                        programs=[n for n in spec.programs if n not in iters])
            self._load_iters(spec, iters)
        if self._printer is not None:
            self._printer.maps = self.coll.maps

    def _load_iters(self, spec: Any, names: list[str]) -> None:
        from ..kernel.links.btf_target import attach_btf_id
        from ..kernel.programs import load_program

        try:
            for n in names:
                ps = spec.programs[n]
                self.coll.programs[n] = load_program(
                    ps, self.coll.maps, log_level=self.log_level,
                    attach_btf_id=attach_btf_id(AttachType.TRACE_ITER, ps.attach_to))
        except BaseException:
            self.coll.close()
            raise

    def _run_iters(self) -> None:
        """iter: probes run once, as their iterator is read; then the session ends
        (as bpftrace does)."""
        iters = [ln for ln in self.links if getattr(ln, "kind", "") == "iter"]
        for ln in iters:
            ln.read()
            self.drain()
        if iters:
            self.request_stop("iter")

    def start(self) -> None:
        """Load, run BEGIN, attach everything, release the child."""
        try:
            self._watch_fd()  # a bad -p fails before anything is loaded
            if self.coll is None:
                self.load()
            self._lost_map = self.coll.maps.get(LOST_MAP)
            self._set_start_time()
            if self.child is not None and CPID in self.coll.maps:  # what cpid reads
                self.coll.maps[CPID].update_raw(bytes(4), struct.pack("<Q", self.child.pid))
            if (self.compat == "0.17" or self.fmt == "json") and not self.quiet:
                self.printer.attached(self.probe_count)
                self._flush()
            for meta in self.script.programs_for("BEGIN"):
                self._run_special(meta)
            if not self.exited:
                self._attach_all()
            if self.compat != "0.17" and self.fmt != "json" and not self.quiet:
                n = self.probe_count
                self.err.write(f"Attached {n} probe{'s' if n != 1 else ''}\n")
                self.err.flush()
            if self.child is not None:
                self.child.release()
            self._run_iters()
        except BaseException:
            self.close()
            raise

    @property
    def printer(self) -> Any:
        """The decoder and printer of records and maps (``runtime.Session``)."""
        if self._printer is None:
            from .runtime import Session

            self._printer = Session(self.script, self.coll.maps if self.coll else {}, self.out,
                                    fmt=self.fmt, compat=self.compat, unsafe=self.unsafe)
            self._printer.err = self.err
        return self._printer

    def _set_start_time(self) -> None:
        """What ``elapsed`` counts from: CLOCK_MONOTONIC now (bpf_ktime_get_ns's clock)."""
        g = self.coll.maps.get(GLOBALS)
        if g is not None:
            g.update_raw(bytes(4), struct.pack("<Q", time.monotonic_ns()))

    def _attach_all(self) -> None:
        pid = self.pid if self.pid >= 0 else (self.child.pid if self.child else -1)
        for meta in self.script.programs:
            if meta.probe.provider in SPECIAL:
                continue
            prog = self.coll.programs[meta.name]
            probe_pid = pid if meta.probe.provider in ("uprobe", "uretprobe", "usdt") else -1
            self.links.append(attach_probe(prog, meta.probe, probe_pid))
            self.attached_count += 1

    def _run_special(self, meta: ProgramMeta) -> None:
        self.coll.programs[meta.name].test_run(ctx=bytes(64))
        self.drain()

    # -- events ----------------------------------------------------------------
    def _ring(self) -> Any:
        """The ring buffer reader, mapped when first read (after attaching: start-up)."""
        if self.ring is None and self.coll is not None and not self._closed:
            from ..kernel.ringbuf import RingBuffer

            self.ring = RingBuffer(self.coll.maps[RINGBUF])
        return self.ring

    def drain(self) -> int:
        """Handle every record now in the ring buffer; returns how many."""
        ring = self._ring()
        if ring is None:
            return 0
        recs = ring.read()
        if not recs:
            return 0
        if self.on_record is not None:
            for rec in recs:
                self.on_record(rec)
        else:
            self._handle(recs)
        self.events += len(recs)
        if self._lost_map is not None:
            self._report_lost()
        if self.flush_events:
            self._flush()
        return len(recs)

    def _report_lost(self) -> None:
        """bpftrace's "Lost N events" when the programs' drop counter grew."""
        raw = self._lost_map.lookup_raw(bytes(4))
        if raw is None:
            return
        stride = getattr(self._lost_map, "value_stride", 8) or 8
        total = sum(struct.unpack_from("<Q", raw, i)[0] for i in range(0, len(raw), stride))
        if total > self.lost:
            n, self.lost = total - self.lost, total
            if self.fmt == "json":
                self.out.write(f'{{"type": "lost_events", "data": {{"events": {n}}}}}\n')
            else:
                self.out.write(f"Lost {n} events\n")

    def _handle(self, recs: list[bytes]) -> None:
        """printf records through their compiled printers, batched into one write; the
        rest through the general printer. Records after ``exit()`` are ignored, as
        bpftrace ignores them."""
        from .script import EV_PRINTF

        printer, parts = self.printer, []
        printers = self._printf_cache
        as_json = self.fmt == "json"
        for rec in recs:
            if printer.exited:
                break
            if len(rec) >= 16:
                ev, fid = _HDR(rec)
                if ev == EV_PRINTF:
                    fn = printers.get(fid, _MISSING)
                    if fn is _MISSING:
                        fn = printers[fid] = self._compile_printf(fid)
                    if fn is not None:
                        text = fn(rec)  # type: ignore[operator]
                        parts.append(_printf_json(text) + "\n" if as_json else text)
                        if not self.batch_writes:
                            self.out.write(parts.pop())
                        continue
            if parts:
                self.out.write("".join(parts))
                parts = []
            printer.event(rec)
        if parts:
            self.out.write("".join(parts))

    def _compile_printf(self, fid: int) -> Any:
        from .printing import compile_printf

        fm = self.script.formats[fid]
        return compile_printf(fm.fmt, list(fm.args), self.compat) if fm.kind == "printf" \
            else None

    def _flush(self) -> None:
        try:
            self.out.flush()
        except (OSError, ValueError):
            pass

    @property
    def exited(self) -> bool:
        """``exit()`` ran in the script."""
        return self._printer is not None and bool(self._printer.exited)

    def request_stop(self, reason: str = "stop") -> None:
        """Ask ``run()`` to end (safe from another thread or a signal handler)."""
        self.stop_reason = self.stop_reason or reason
        self._stop_requested = True
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def loop(self, timeout: float | None = None) -> str:
        """Poll until something ends the session; returns why (exit, signal, child...)."""
        ep = select.epoll()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            ep.register(self._ring().fileno(), select.EPOLLIN)
            ep.register(self._wake_r, select.EPOLLIN)
            watch = self._watch_fd()
            if watch >= 0:
                ep.register(watch, select.EPOLLIN)
            deadline = None if timeout is None else time.monotonic() + timeout
            watch_full = MAPFULL in self.coll.maps
            next_full = time.monotonic() + FULL_CHECK_PERIOD
            while True:
                self.drain()
                if watch_full and time.monotonic() >= next_full:
                    self.printer.check_full()  # warn while it happens, not only at the end
                    next_full = time.monotonic() + FULL_CHECK_PERIOD
                if self.exited:
                    return self._stopped("exit")
                if self._stop_requested:
                    return self._stopped(self.stop_reason)
                if self._target_gone():
                    self.drain()
                    return self._stopped("child" if self.child else "pid")
                wait = -1.0
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        return self._stopped("timeout")
                if watch_full:
                    gap = max(next_full - time.monotonic(), 0.0)
                    wait = gap if wait < 0 else min(wait, gap)
                for fd, _ in ep.poll(wait):
                    if fd == self._wake_r:
                        try:
                            os.read(self._wake_r, 512)
                        except BlockingIOError:
                            pass
        finally:
            ep.close()
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            self._wake_r = self._wake_w = -1

    def _stopped(self, reason: str) -> str:
        self.stop_reason = self.stop_reason or reason
        return self.stop_reason

    def _watch_fd(self) -> int:
        if self.child is not None:
            return self.child.pidfd
        if self.pid > 0 and self._pidfd < 0:
            try:
                self._pidfd = os.pidfd_open(self.pid)
            except ProcessLookupError:
                raise PybpfError(f"-p {self.pid}: no such process") from None
        return self._pidfd

    def _target_gone(self) -> bool:
        if self.child is not None:
            return self.child.poll() is not None
        if self._pidfd >= 0:
            r, _, _ = select.select([self._pidfd], [], [], 0)
            return bool(r)
        return False

    # -- end -----------------------------------------------------------------
    def detach(self) -> None:
        """Release every link; probes stop firing. See ``release_links`` for the cost."""
        if self.links:
            links, self.links = self.links, []
            self.reaper = release_links(links)

    def wait_released(self, timeout: float | None = None) -> bool:
        """Block until the kernel has released every perf event (the reaper is done)."""
        if self.reaper is None:
            return True
        try:
            self.reaper.wait(timeout)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            return False
        return True

    def finish(self, print_maps: bool = True) -> None:
        """Detach, run END, print the maps, close everything (once)."""
        if self._closed:
            return
        try:
            self.detach()
            if self.coll is not None:
                self.drain()
                if self._lost_map is not None:
                    self._report_lost()  # drops since the last record read
                self.printer.exited = False
                for meta in self.script.programs_for("END"):
                    self._run_special(meta)
                self.warn_full_maps()
                if print_maps:
                    self.printer.print_all()
                    self._flush()
        finally:
            self.close()

    def warn_full_maps(self) -> list[str]:
        """Warn once (on ``err``) for each script map that reached its entry limit, so
        dropped updates do not pass silently; returns the names warned about."""
        printer = self.printer
        full = printer.check_full()
        for name, meta in sorted(self.script.maps.items()):
            m = self.coll.maps.get(meta.bpf_name)
            limit = getattr(m, "max_entries", 0)
            if m is None or not meta.keys or name in printer.warned_full or limit <= 1:
                continue
            if sum(1 for _ in m.keys_raw()) >= limit and printer.warn_full(name, limit):
                full.append(name)
        return full

    def close(self) -> None:
        """Release everything without output (error paths); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.detach()
        finally:
            if self.ring is not None:
                self.ring.close()
                self.ring = None
            if self.coll is not None:
                self.coll.close()
            if self.child is not None:
                self.child.close()
            if self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1

    def run(self, timeout: float | None = None) -> int:
        """The whole session with SIGINT/SIGTERM ending it cleanly; returns the exit code."""
        old = _install_signals(self)
        try:
            self.start()
            self.loop(timeout)
            self.finish()
        except KeyboardInterrupt:
            self.finish()
        finally:
            _restore_signals(old)
            self.close()
        return 0

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _install_signals(sess: KernelSession) -> dict[int, Any]:
    """Ctrl-C/SIGTERM end the session; off the main thread (where Python refuses
    handlers, with ValueError) nothing is installed. No ``threading`` import: start-up."""
    old: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        sess.request_stop("signal")

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            break
    return old


def _restore_signals(old: dict[int, Any]) -> None:
    for sig, h in old.items():
        signal.signal(sig, h)
