"""The runtime side of a compiled script: decode ring-buffer events and map contents,
print them as bpftrace does, and drive the vm backend for tests and dry runs.

The kernel event loop (``pybpf trace``) uses the same ``Session``: it only differs
in where records come from and how probes fire.
"""

from __future__ import annotations

import struct
import sys
import time

from . import output as O
from . import types as T
from .script import (
    CPID,
    EV_CAT,
    EV_CLEAR,
    EV_EXIT,
    EV_JOIN,
    EV_PRINT_MAP,
    EV_PRINT_VALUE,
    EV_PRINTF,
    EV_SYSTEM,
    EV_TIME,
    EV_ZERO,
    GLOBALS,
    JOIN_LEN,
    MAPFULL,
    RINGBUF,
    CompiledScript,
    MapMeta,
)
from .symbolize import StackValue, Symbolizer

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TextIO


def _u64(raw: bytes, off: int) -> int:
    return int(struct.unpack_from("<Q", raw, off)[0])


def _s64(raw: bytes, off: int) -> int:
    return int(struct.unpack_from("<q", raw, off)[0])


class Decoder:
    """Bytes laid out by codegen → Python values."""

    def __init__(self, script: CompiledScript, maps: dict[str, Any] | None = None) -> None:
        self.script = script
        self.maps: dict[str, Any] = maps if maps is not None else {}  # for stack lookups
        self.syms = Symbolizer()
        self._boot: int | None = None

    def value(self, t: T.Type, raw: bytes, off: int = 0) -> Any:
        if t.kind == "int":
            return _s64(raw, off) if t.signed else _u64(raw, off)
        if t.kind == "string":
            chunk = raw[off:off + t.size]
            return chunk.split(b"\0", 1)[0].decode(errors="replace")
        if t.kind == "tuple":
            vals = []
            for e in t.elems:
                vals.append(self.value(e, raw, off))
                off += T.storage_size(e)
            return tuple(vals)
        if t.kind == "probe":
            i = _u64(raw, off)
            names = self.script.probe_names
            return names[i] if i < len(names) else str(i)
        if t.kind == "ksym":
            return self.syms.ksym(_u64(raw, off))
        if t.kind == "usym":
            return self.syms.usym(_u64(raw, off), _u64(raw, off + 8))
        if t.kind in ("kstack", "ustack"):
            return self.stack(t, _u64(raw, off))
        if t.kind == "pointer":
            return O.Pointer(_u64(raw, off))
        if t.kind in ("inet", "timestamp", "buffer", "macaddr", "username"):
            return self.special(t, raw, off)
        if t.kind in ("record", "array") and self.script.btf is not None:
            return self.record(t, raw[off:off + T.storage_size(t)])
        return _u64(raw, off)

    def special(self, t: T.Type, raw: bytes, off: int) -> Any:
        """ntop, strftime, buf, macaddr and username values, printed as bpftrace does."""
        if t.kind == "inet":
            return O.inet_text(_u64(raw, off), raw[off + 8:off + 24])
        if t.kind == "timestamp":
            fmt = self.script.formats[_u64(raw, off)].fmt
            return O.strftime_text(fmt, _u64(raw, off + 8), self.boot_base())
        if t.kind == "buffer":
            n = min(_u64(raw, off), t.size - 8)
            return O.Buffer(bytes(raw[off + 8:off + 8 + n]))
        if t.kind == "macaddr":
            return ":".join(f"{b:02X}" for b in raw[off:off + 6])
        return O.user_name(_u64(raw, off))

    def record(self, t: T.Type, raw: bytes) -> Any:
        """A struct (or array) member read whole: laid out from BTF now."""
        from .records import decode_record

        if t.kind == "record":
            return decode_record(self.script.btf, t.name, raw)
        elem = t.elems[0] if t.elems else T.UINT64
        if elem.kind != "int":
            return raw.hex()
        fmt = {1: "b", 2: "h", 4: "i", 8: "q"}[elem.size]
        fmt = fmt if elem.signed else fmt.upper()
        return [int(v) for (v,) in struct.iter_unpack("<" + fmt, raw[:t.size - t.size
                                                                 % elem.size])]

    def boot_base(self) -> int:
        """Wall-clock nanoseconds at boot: strftime's nsecs count from there."""
        if self._boot is None:
            self._boot = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(
                time.CLOCK_BOOTTIME)
        return self._boot

    def symbol(self, addr: int) -> str:
        """A kernel address as bpftrace's ksym() prints it: the function name."""
        return self.syms.ksym(addr)

    def stack(self, t: T.Type, word: int) -> StackValue:
        """Look the stack id up in its STACK_TRACE map and symbolize the frames."""
        mode, limit = T.stack_params(t)
        sid, pid = word & 0xFFFFFFFF, word >> 32
        m = self.maps.get(self.script.stack_maps.get(limit, ""))
        raw = None
        if m is not None and not sid >> 31:  # a negative id is get_stackid's error
            try:
                raw = m.lookup_raw(struct.pack("<I", sid))
            except Exception:  # noqa: BLE001 - evicted or unreadable: print nothing
                raw = None
        return self.syms.stack(raw, t.kind == "ustack", pid, mode)

    def key(self, meta: MapMeta, raw: bytes) -> tuple[Any, ...]:
        out, off = [], 0
        for k in meta.keys:
            out.append(self.value(k, raw, off))
            off += T.storage_size(k)
        return tuple(out)

    def entries(self, meta: MapMeta, m: Any) -> list[tuple[tuple[Any, ...], Any]]:
        """Every entry of live map ``m``, per-CPU values combined as bpftrace does."""
        kind = meta.kind
        items = list(_raw_items(m))
        if kind in ("hist", "lhist"):
            hists: dict[tuple[Any, ...], O.Hist] = {}
            for kraw, vals in items:
                key = self.key(meta, kraw)
                bucket = _u64(kraw, meta.key_size - 8)
                h = hists.setdefault(key, O.Hist({}, meta.lhist if kind == "lhist" else None))
                h.buckets[bucket] = h.buckets.get(bucket, 0) + sum(_u64(v, 0) for v in vals)
            return list(hists.items())
        out = []
        for kraw, vals in items:
            key = self.key(meta, kraw) if meta.keys else ()
            if kind == "count":
                v: Any = sum(_u64(x, 0) for x in vals)
            elif kind == "sum":
                v = sum(_s64(x, 0) for x in vals)
            elif kind in ("min", "max"):
                seen = [_s64(x, 0) for x in vals if _u64(x, 8)]
                v = (min(seen) if kind == "min" else max(seen)) if seen else 0
            elif kind in ("avg", "stats"):
                v = O.Stats(sum(_u64(x, 8) for x in vals), sum(_s64(x, 0) for x in vals))
            else:
                v = self.value(meta.value, vals[0])
            out.append((key, v))
        return out


def _raw_items(m: Any) -> Iterable[tuple[bytes, list[bytes]]]:
    stride = m.value_stride
    for k in list(m.keys_raw()):
        raw = m.lookup_raw(k)
        if raw is None:
            continue
        if m.percpu:
            yield k, [raw[i * stride:(i + 1) * stride] for i in range(m.ncpus)]
        else:
            yield k, [raw]


class Session:
    """Live maps + an output stream: handles events and prints maps like bpftrace."""

    def __init__(self, script: CompiledScript, maps: dict[str, Any], out: TextIO = sys.stdout,
                 *, fmt: str = "text", compat: str | None = None, unsafe: bool = False) -> None:
        self.script = script
        self.dec = Decoder(script, maps)
        self.maps = maps
        self.out = out
        self.json = fmt == "json"
        self.compat = compat
        self.unsafe = unsafe
        self.exited = False
        self.err: TextIO = sys.stderr  # warnings
        self.warned_full: set[str] = set()  # maps already reported full

    @property
    def maps(self) -> dict[str, Any]:
        return self._maps

    @maps.setter
    def maps(self, maps: dict[str, Any]) -> None:
        self._maps = maps
        self.dec.maps = maps  # stacks are read from the live maps at print time

    def set_start_time(self, ns: int | None = None) -> None:
        g = self.maps.get(GLOBALS)
        if g is not None:
            g.update_raw(b"\0\0\0\0", struct.pack("<Q", time.monotonic_ns() if ns is None
                                                  else ns))

    def set_cpid(self, pid: int) -> None:
        """What the ``cpid`` builtin reads: the pid of the command run with ``-c``."""
        m = self.maps.get(CPID)
        if m is not None:
            m.update_raw(b"\0\0\0\0", struct.pack("<Q", pid))

    def write(self, text: str) -> None:
        self.out.write(text)

    def attached(self, n: int) -> None:
        self.write(O.attaching_json(n) + "\n" if self.json else O.attaching_text(n))

    # -- events ------------------------------------------------------------
    def drain(self) -> None:
        rb = self.maps.get(RINGBUF)
        if rb is None or not hasattr(rb, "consume"):
            return
        for rec in rb.consume():
            self.event(bytes(rec))

    def event(self, rec: bytes) -> None:
        ev = _u64(rec, 0)
        s = self.script
        if ev in (EV_PRINTF, EV_SYSTEM, EV_CAT):
            fm = s.formats[_u64(rec, 8)]
            args, off = [], 16
            for t in fm.args:
                args.append(self.dec.value(t, rec, off))
                off += T.storage_size(t)
            text = O.format_printf(fm.fmt, args, self.compat)
            if ev == EV_PRINTF:
                self.write(O.printf_json(text) + "\n" if self.json else text)
            elif ev == EV_SYSTEM:
                self.out.flush()
                import subprocess  # only system() needs it: start-up is measured

                res = subprocess.run(text, shell=True, capture_output=True, text=True)
                self.write(res.stdout)
            else:
                try:
                    with open(text) as f:
                        self.write(f.read(10240))
                except OSError as e:
                    self.write(f"{e.strerror}: {text}\n")
        elif ev == EV_TIME:
            fm = s.formats[_u64(rec, 8)]
            text = time.strftime(fm.fmt)
            if self.json:
                import json

                self.write(f'{{"type": "time", "data": {json.dumps(text)}}}\n')
            else:
                self.write(text)
        elif ev == EV_EXIT:
            self.exited = True
        elif ev == EV_JOIN:
            sep = s.formats[_u64(rec, 8)].fmt
            n = _u64(rec, 16)
            parts = [rec[24 + i * JOIN_LEN:24 + (i + 1) * JOIN_LEN].split(b"\0", 1)[0]
                     .decode(errors="replace") for i in range(n)]
            text = sep.join(parts) + "\n"
            self.write(O.printf_json(text).replace('"printf"', '"join"', 1) + "\n"
                       if self.json else text)
        elif ev == EV_PRINT_MAP:
            meta = s.map_by_id(_u64(rec, 8))
            top, div = _u64(rec, 16), max(_u64(rec, 24), 1)
            self.print_map(meta, top, div)
        elif ev == EV_PRINT_VALUE:
            t = s.prints[_u64(rec, 8)]
            v = self.dec.value(t, rec, 16)
            self.write(O.value_event_json(v) + "\n" if self.json else O.value_text(v) + "\n")
        elif ev in (EV_CLEAR, EV_ZERO):
            meta = s.map_by_id(_u64(rec, 8))
            m = self.maps[meta.bpf_name]
            if ev == EV_CLEAR and meta.keys:
                m.clear()
            else:
                zero = _percpu_zero(m) if m.percpu else bytes(m.value_size)
                for k in list(m.keys_raw()):
                    m.update_raw(k, zero)

    def check_full(self) -> list[str]:
        """Warn about every map whose flag the programs set on E2BIG (once per map);
        returns the names warned about now."""
        flags = self.maps.get(MAPFULL)
        raw = flags.lookup_raw(bytes(4)) if flags is not None else None
        if not raw:
            return []
        out = []
        for name, meta in sorted(self.script.maps.items()):
            if _u64(raw, 8 * meta.id) and name not in self.warned_full:
                m = self.maps.get(meta.bpf_name)
                self.warn_full(name, getattr(m, "max_entries", 0))
                out.append(name)
        return out

    def warn_full(self, name: str, limit: int) -> bool:
        """Warn (once per map, on ``err``) that updates of ``name`` are being dropped."""
        if name in self.warned_full:
            return False
        self.warned_full.add(name)
        self.err.write(f"WARNING: map {name} is full ({limit} entries): further keys were "
                       "dropped. Try increasing max_map_keys config\n")
        self.err.flush()
        return True

    # -- maps --------------------------------------------------------------
    def print_map(self, meta: MapMeta, top: int = 0, div: int = 1) -> None:
        entries = self.dec.entries(meta, self.maps[meta.bpf_name])
        kind = meta.kind if meta.kind in T.AGGREGATES else "value"
        if self.json:
            if entries:
                self.write(O.map_json(meta.name, kind, entries, top, div, self.compat) + "\n")
        else:
            self.write(O.map_text(meta.name, kind, entries, top, div, self.compat))

    def print_all(self) -> None:
        """What bpftrace prints when it ends: two newlines, then every map by name."""
        self.write("\n\n")
        for name in sorted(self.script.maps):
            self.print_map(self.script.maps[name])


def _percpu_zero(m: Any) -> bytes:
    return bytes(m.value_stride * m.ncpus)


def run_vm(script: CompiledScript, fires: Iterable[tuple[str, bytes]] = (), *,
           fmt: str = "text", compat: str | None = None, ncpus: int = 1,
           task: dict[str, Any] | None = None, out: TextIO | None = None) -> str:
    """Run a compiled script in the vm: BEGIN, then each (program, ctx) in ``fires``,
    then END, printing events and finally the maps. Returns the output text."""
    import io

    buf: Any = out or io.StringIO()
    coll = script.spec.load(backend="vm", ncpus=ncpus)
    try:
        sess = Session(script, coll.maps, buf, fmt=fmt, compat=compat)
        sess.set_start_time()
        for prog in coll.programs.values():
            for k, v in (task or {}).items():
                setattr(prog, k, v)
        sess.attached(sum(1 for p in script.programs if p.probe.provider != "END")
                      + sum(1 for p in script.programs if p.probe.provider == "END"))
        for meta in script.programs_for("BEGIN"):
            coll.programs[meta.name].test_run(ctx=bytes(64))
            sess.drain()
        for name, ctx in fires:
            if sess.exited:
                break
            coll.programs[name].test_run(ctx=ctx)
            sess.drain()
            sess.check_full()
        for meta in script.programs_for("END"):
            coll.programs[meta.name].test_run(ctx=bytes(64))
            sess.drain()
        sess.check_full()
        sess.print_all()
    finally:
        coll.close()
    return buf.getvalue() if out is None else ""
