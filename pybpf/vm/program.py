"""A program made live in the vm: translated once, run many times.

``VmProgram`` is also the runtime object helpers receive: it holds the memory,
the maps by handle, and the task values a caller may set before running
(``pid``, ``tgid``, ``uid``, ``gid``, ``comm``, ``cpu``, ``cgroup_id``);
``trace_printk`` output collects in ``printk``.

Contexts by program type:
- XDP: ``r1`` points at an ``xdp_md`` whose ``data``/``data_end``/``data_meta``
  fields (offsets 0/4/8) read as pointers into the packet;
- socket filter / tc / cgroup skb: ``r1`` points at a ``__sk_buff`` (``len`` at 0,
  ``data``/``data_end`` at 76/80, ``data_meta`` at 140); LD_ABS/LD_IND read the packet
  (``test_run`` first pulls the Ethernet header, as the kernel's test run does);
- anything else (raw): ``r1`` = the context memory (writable), ``r2`` = its length;
  LD_ABS/LD_IND read that memory.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from ..asm.insn import Insn, imm64_of
from ..asm.opcodes import PseudoSrc
from ..collection import Program, RunResult
from ..mapapi import Map
from ..spec import ProgramSpec
from ..uapi import ProgType
from . import helpers as _helpers
from . import iter_helpers as _iter_helpers  # noqa: F401 - registers for_each/stack helpers
from . import pkt_helpers as _pkt_helpers  # noqa: F401 - registers the packet helpers
from .helpers import HELPERS, Helper, HelperFn, ProgramExit, TailCall
from .memory import (
    CTX_RID,
    FUNC_RID,
    M32,
    M64,
    MAPH_RID,
    PKT_RID,
    MemFault,
    Memory,
    VirtualCtx,
    VmError,
)
from .translate import HelperInfo, Translation, translate

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

DEFAULT_BUDGET = 1_000_000
BPF_F_RDONLY_PROG = 1 << 7

SKB_TYPES = frozenset({ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT,
                       ProgType.CGROUP_SKB, ProgType.LWT_IN, ProgType.LWT_OUT,
                       ProgType.LWT_XMIT, ProgType.SK_SKB})
SKB_SIZE = 192  # sizeof(struct __sk_buff)
# BPF_PROG_TEST_RUN pulls the Ethernet header for these (skb->data at L3) and hands it
# back zeroed in data_out; tc and lwt_xmit programs see the full frame.
L3_SKB_TYPES = frozenset({ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB, ProgType.LWT_IN,
                          ProgType.LWT_OUT})
ETH_HLEN = 14
SKB_PTRS = {76: "data", 80: "data_end", 140: "data_meta"}
XDP_SIZE = 24  # sizeof(struct xdp_md)

TraceFn = Callable[[int, Insn, dict[int, int]], None]

_S = struct.Struct
_BIND_BASE: dict[str, Any] = {
    "LB": _S("<B").unpack_from, "LH": _S("<H").unpack_from, "LW": _S("<I").unpack_from,
    "LQ": _S("<Q").unpack_from, "LSB": _S("<b").unpack_from, "LSH": _S("<h").unpack_from,
    "LSW": _S("<i").unpack_from, "PH": _S("<H").pack_into, "PW": _S("<I").pack_into,
    "PQ": _S("<Q").pack_into,
}


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _sdiv(a: int, b: int, bits: int) -> int:
    a, b = _signed(a, bits), _signed(b, bits)
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & ((1 << bits) - 1)


def _smod(a: int, b: int, bits: int) -> int:
    mask = (1 << bits) - 1
    sa, sb = _signed(a, bits), _signed(b, bits)
    if sb == 0:
        return a & mask
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & mask


_BIND_BASE.update({
    "SDIV64": lambda a, b: _sdiv(a, b, 64), "SMOD64": lambda a, b: _smod(a, b, 64),
    "SDIV32": lambda a, b: _sdiv(a, b, 32), "SMOD32": lambda a, b: _smod(a, b, 32),
    "BS32": lambda x: int.from_bytes((x & M32).to_bytes(4, "little"), "big"),
    "BS64": lambda x: int.from_bytes(x.to_bytes(8, "little"), "big"),
})


class VmProgram(Program):
    """One program in the vm. ``run`` returns r0; ``test_run`` mirrors BPF_PROG_TEST_RUN."""

    def __init__(
        self,
        spec: ProgramSpec,
        maps: dict[str, Map] | None = None,
        *,
        budget: int = DEFAULT_BUDGET,
        helpers: dict[int, HelperFn] | None = None,
        trace: TraceFn | None = None,
        ncpus: int = 1,
        seed: int | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.type = ProgType(spec.type)
        self.maps: dict[str, Map] = dict(maps or {})
        self.budget = budget
        self.ncpus = ncpus
        # task values helpers report; set them before run()
        self.cpu = 0
        self.pid = 0
        self.tgid = 0
        self.uid = 0
        self.gid = 0
        self.comm = "pybpf"
        self.cgroup_id = 0
        self.clock: Callable[[], int] = time.monotonic_ns
        self.boot_clock: Callable[[], int] = lambda: time.clock_gettime_ns(
            getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))
        self.random = random.Random(seed)
        self.printk: list[str] = []
        # live state of a run (synced by helpers that need it)
        self.n = 0
        self.d = 0
        self.pc = 0
        self.tail_calls = 0
        self.records: dict[int, tuple[Any, bytearray]] = {}
        self.packet: bytearray = bytearray()
        self.mem = Memory()
        self._handles: dict[int, Any] = {}
        self._handle_of: dict[int, int] = {}
        self._map_list = list(self.maps.values())
        for m in self._map_list:
            self.map_handle(m)
        self._trace = trace
        self._prev_regs: tuple[int, ...] = (0,) * 11
        self.helpers: dict[int, Helper] = dict(HELPERS)
        for hid, fn in (helpers or {}).items():
            self.helpers[hid] = Helper(fn, f"helper_{hid}")
        self.translation: Translation = translate(
            spec.insns,
            helpers={k: HelperInfo(h.name, h.syncs_state) for k, h in self.helpers.items()},
            resolve_lddw=self._resolve_lddw,
            budget=budget,
            trace=trace is not None,
            name=spec.name,
        )
        bindings = dict(_BIND_BASE)
        bindings.update(E=self, M=self.mem, R=self.mem.R, W=self.mem.W, T=self._trace_step,
                        FRAMES=self.mem.frames)
        for hid in self.translation.helpers_used:
            bindings[f"H{hid}"] = self.helpers[hid].fn
        self.funcs = self.translation.instantiate(bindings)
        self._entry = self.funcs[0]
        self._filename = f"<pybpf-vm {spec.name}>"

    # -- load-time resolution ----------------------------------------------
    def map_handle(self, m: Any) -> int:
        """The address a program holds for map ``m`` (what lddw src=1 loads)."""
        h = self._handle_of.get(id(m))
        if h is None:
            h = (MAPH_RID << 32) | (len(self._handles) * 16 + 16)
            self._handles[h] = m
            self._handle_of[id(m)] = h
        return h

    def map_at(self, addr: int) -> Any:
        return self._handles.get(addr)

    def is_frozen(self, m: Any) -> bool:
        return bool(getattr(m, "flags", 0) & BPF_F_RDONLY_PROG)

    def _map_for(self, i: int, first: Insn, second: Insn) -> tuple[Any, int]:
        ref = next((r for r in self.spec.map_refs if r.index == i), None)
        if ref is not None:
            m = self.maps.get(ref.name)
            if m is None:
                raise VmError(f"instruction refers to map {ref.name!r}, which was not given "
                              f"(have: {', '.join(self.maps) or 'none'})", i)
            return m, ref.offset if first.src in (PseudoSrc.MAP_VALUE, 6) else 0
        idx = first.imm
        if not 0 <= idx < len(self._map_list):
            raise VmError(f"64-bit load of map #{idx}, but the program has "
                          f"{len(self._map_list)} maps", i)
        return self._map_list[idx], second.imm & M32

    def _resolve_lddw(self, i: int, first: Insn, second: Insn) -> int:
        src = first.src
        if src in (PseudoSrc.IMM, PseudoSrc.BTF_ID):
            return imm64_of(first, second)
        if src == PseudoSrc.FUNC:
            return (FUNC_RID << 32) | (i + first.imm + 1)
        m, offset = self._map_for(i, first, second)
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
            return self.map_handle(m)
        vb = getattr(m, "value_buffer", None)
        buf = vb(b"\0" * m.key_size) if vb is not None else None
        if buf is None:
            raise VmError(f"map {m.name!r} has no direct value address (use an array map)", i)
        base = self.mem.map_dynamic(buf, f"value of map '{m.name}'",
                                    writable=not self.is_frozen(m), permanent=True)
        return base + offset

    # -- calls -------------------------------------------------------------------
    def function_at(self, addr: int) -> Callable[..., Any]:
        fn = self.funcs.get(addr - (FUNC_RID << 32)) if addr >> 32 == FUNC_RID else None
        if fn is None:
            raise VmError(f"0x{addr:x} is not the address of a function", self.pc)
        return fn

    def callx(self, target: int, r1: int, r2: int, r3: int, r4: int, r5: int, d: int, n: int,
              idx: int) -> tuple[int, int]:
        self.pc = idx
        fn = self.function_at(target)
        if d >= 7:
            raise self.too_deep(idx)
        result: tuple[int, int] = fn(r1, r2, r3, r4, r5, d + 1, n)
        return result

    def ldabs(self, base: int, imm: int, size: int, idx: int) -> int:
        """LD_ABS/LD_IND: big-endian packet load; out of bounds ends the program, r0 = 0."""
        off = _signed(base, 32) + imm if base else imm
        pkt = self.packet
        if off < 0 or off + size > len(pkt):
            raise ProgramExit(0)
        return int.from_bytes(pkt[off:off + size], "big")

    # -- errors the generated code raises ---------------------------------------
    def over(self, idx: int) -> VmError:
        return VmError(f"instruction budget of {self.budget} exhausted "
                       "(raise it with budget=... or --budget)", idx)

    def too_deep(self, idx: int) -> VmError:
        return VmError("call depth exceeds the limit of 8 frames", idx)

    def fell(self, idx: int) -> VmError:
        return VmError("execution falls off the end of the function (missing exit?)", idx)

    def bad_block(self, b: int, fn: int) -> VmError:  # pragma: no cover - a translator bug
        return VmError(f"internal: no block {b} in function {fn}")

    # -- tracing -------------------------------------------------------------------
    def _trace_step(self, idx: int, *regs: int) -> None:
        prev = self._prev_regs
        changed = {r: v for r, v in enumerate(regs) if v != prev[r]}
        self._prev_regs = regs
        if self._trace is not None:
            self._trace(idx, self.spec.insns[idx], changed)

    # -- running -------------------------------------------------------------------
    def _set_context(self, ctx: bytes | bytearray, data: bytes | None,
                     pull_l2: bool = False) -> tuple[int, int]:
        mem = self.mem
        if self.type == ProgType.XDP:
            self.packet = pkt = bytearray(data or b"")
            base = mem.map_fixed(PKT_RID, pkt, "packet", writable=True)
            backing = bytearray(XDP_SIZE)
            backing[: min(len(ctx), XDP_SIZE)] = ctx[:XDP_SIZE]
            vctx = VirtualCtx(backing, {0: base, 4: base + len(pkt), 8: base})
            return mem.map_virtual(CTX_RID, vctx, "context (xdp_md)"), 0
        if self.type in SKB_TYPES:
            self.packet = pkt = bytearray(data or b"")
            if pull_l2 and self.type in L3_SKB_TYPES and len(pkt) >= ETH_HLEN:
                self.packet = pkt = pkt[ETH_HLEN:]
            base = mem.map_fixed(PKT_RID, pkt, "packet", writable=True)
            backing = bytearray(SKB_SIZE)
            backing[: min(len(ctx), SKB_SIZE)] = ctx[:SKB_SIZE]
            struct.pack_into("<I", backing, 0, len(pkt))
            vctx = VirtualCtx(backing, {76: base, 80: base + len(pkt), 140: base})
            return mem.map_virtual(CTX_RID, vctx, "context (__sk_buff)"), 0
        buf = ctx if isinstance(ctx, bytearray) else bytearray(ctx)
        self.packet = buf
        mem.map_fixed(CTX_RID, buf, "context", writable=True)
        mem.R.pop(PKT_RID, None)
        mem.W.pop(PKT_RID, None)
        return (CTX_RID << 32) if buf else 0, len(buf)

    def run(self, ctx: bytes | bytearray = b"", data: bytes | None = None, *,
            pull_l2: bool = False) -> int:
        """Run once; returns r0 (64 bits). For packet program types (XDP, skb) ``data``
        is the packet; if it is None the first argument is taken as the packet.
        ``pull_l2``: skip the Ethernet header for socket filters as ``test_run`` does."""
        if data is None and (self.type == ProgType.XDP or self.type in SKB_TYPES):
            ctx, data = b"", bytes(ctx)
        r1, r2 = self._set_context(ctx, data, pull_l2)
        return self._execute(r1, r2)

    def _execute(self, r1: int, r2: int) -> int:
        prog = self
        self.tail_calls = 0
        self._prev_regs = (0, r1, r2) + (0,) * 7 + (0x600000200,)
        n = 0
        try:
            while True:
                try:
                    r0, n = prog._entry(r1, r2, 0, 0, 0, 0, n)
                    break
                except TailCall as t:
                    target: VmProgram = t.prog
                    target.mem.adopt(prog.mem, (CTX_RID, PKT_RID))
                    target.packet = prog.packet
                    target.tail_calls = prog.tail_calls + 1
                    n = t.n
                    prog = target
                    r2 = 0
        except ProgramExit as e:
            return e.value
        except VmError as e:
            if e.index is None:
                raise VmError(str(e), prog._index_from(e)) from None
            raise
        except MemFault as e:
            raise VmError(f"helper: {e}", prog._index_from(e)) from None
        except (RecursionError, MemoryError, ArithmeticError, TypeError, ValueError,
                KeyError, IndexError, AttributeError) as e:
            raise VmError(f"internal error: {type(e).__name__}: {e}",
                          prog._index_from(e)) from None
        finally:
            if self.records:
                self._drop_records()
        if n > self.budget:
            raise self.over(len(self.spec.insns) - 1)
        return int(r0)

    def _drop_records(self) -> None:
        """Records reserved but never submitted are discarded (the verifier forbids it)."""
        for rid, (m, buf) in list(self.records.items()):
            self.mem.unmap(rid)
            m.discard(buf)
        self.records.clear()

    def _index_from(self, e: BaseException) -> int | None:
        tb = e.__traceback__
        idx = None
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename.startswith("<pybpf-vm "):
                idx = self.translation.line_insn.get(tb.tb_lineno, idx)
            tb = tb.tb_next
        return idx

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None,
                 repeat: int = 1) -> RunResult:
        """Like BPF_PROG_TEST_RUN: socket filter / cgroup skb programs see ``data`` after
        its 14-byte Ethernet header and get it back zeroed in ``data_out``; r0 is
        truncated to 32 bits in ``retval``. (``run`` gives programs the data as is.)"""
        repeat = max(1, repeat)
        t0 = time.perf_counter_ns()
        retval = 0
        for _ in range(repeat):
            r1, r2 = self._set_context(bytearray(ctx or b""), data, pull_l2=True)
            retval = self._execute(r1, r2)
        dt = (time.perf_counter_ns() - t0) // repeat
        packet_type = self.type == ProgType.XDP or self.type in SKB_TYPES
        data_out = bytes(self.packet) if packet_type else b""
        if self.type in L3_SKB_TYPES and len(data) >= ETH_HLEN:
            data_out = bytes(ETH_HLEN) + data_out
        ctx_out = b""
        if not packet_type:
            buf = self.mem.R.get(CTX_RID)
            ctx_out = bytes(buf) if buf is not None else b""
        return RunResult(retval & M32, data_out, ctx_out, dt)

    @property
    def source(self) -> str:
        """The generated Python source (for debugging the translator)."""
        return self.translation.source


__all__ = ["DEFAULT_BUDGET", "VmProgram", "M64", "_helpers"]
