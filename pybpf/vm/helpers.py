"""Helper functions by kernel id, as an extensible registry.

Every helper is ``fn(vm, r1, r2, r3, r4, r5) -> int`` where ``vm`` is the running
``VmProgram`` (its ``mem``, maps, and the task values the caller set: pid, tgid,
uid, gid, comm, cpu). Return values follow the kernel: a negative errno on
failure. Other packages add helpers with ``register_helper`` (globally) or pass
``helpers=`` to one ``VmProgram``.
"""

from __future__ import annotations

import errno
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..uapi import HELPER_IDS, HELPER_NAMES, MapType
from .memory import M32, M64, MemFault, VmError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from .program import VmProgram

HelperFn = Callable[..., int]


@dataclass
class Helper:
    """One helper: its function, name, and whether it needs the live budget/depth."""

    fn: HelperFn
    name: str
    syncs_state: bool = False


HELPERS: dict[int, Helper] = {}


def register_helper(which: int | str, fn: HelperFn | None = None, *,
                    syncs_state: bool = False) -> Any:
    """Add or replace helper ``which`` (an id or a name such as ``"ktime_get_ns"``).

    Usable as ``register_helper(5, fn)`` or as a decorator ``@register_helper("loop")``.
    ``syncs_state`` helpers read ``vm.n``/``vm.d`` (the executed count and call depth).
    """
    hid = HELPER_IDS[which] if isinstance(which, str) else int(which)
    name = HELPER_NAMES[hid] if 0 <= hid < len(HELPER_NAMES) else f"helper_{hid}"

    def add(f: HelperFn) -> HelperFn:
        HELPERS[hid] = Helper(f, name, syncs_state)
        return f

    return add(fn) if fn is not None else add


def helper(name: str, *, syncs_state: bool = False) -> Callable[[HelperFn], HelperFn]:
    return register_helper(name, syncs_state=syncs_state)  # type: ignore[no-any-return]


class TailCall(Exception):  # noqa: N818 - control flow, not an error
    """Raised by bpf_tail_call to replace the running program."""

    def __init__(self, prog: Any, n: int) -> None:
        self.prog = prog
        self.n = n


class ProgramExit(Exception):  # noqa: N818 - control flow, not an error
    """Ends the program with ``value`` in r0 (a legacy packet load out of bounds)."""

    def __init__(self, value: int) -> None:
        self.value = value


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


def _map(vm: VmProgram, addr: int, what: str) -> Any:
    m = vm.map_at(addr)
    if m is None:
        raise VmError(f"{what}: 0x{addr:x} is not a map")
    return m


# -- maps ----------------------------------------------------------------

_MAP_OF_MAPS = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})


@helper("map_lookup_elem")
def map_lookup_elem(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    m = vm.map_at(r1)
    if m is None:
        raise VmError(f"map_lookup_elem: 0x{r1:x} is not a map")
    mem = vm.mem
    key = mem.read(r2, m.key_size)
    if m.type in _MAP_OF_MAPS and hasattr(m, "inner_map"):  # the value is a map
        inner = m.inner_map(key)
        return 0 if inner is None else vm.map_handle(inner)
    buf = m.value_buffer(key, vm.cpu)
    if buf is None:
        return 0
    rid = mem.rid_of(buf)
    if rid:
        return rid << 32
    return mem.map_dynamic(buf, f"value of map '{m.name}'", writable=not vm.is_frozen(m))


@helper("map_lookup_percpu_elem")
def map_lookup_percpu_elem(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    m = _map(vm, r1, "map_lookup_percpu_elem")
    if r3 >= getattr(m, "ncpus", 1):
        return 0
    buf = m.value_buffer(vm.mem.read(r2, m.key_size), r3)
    return 0 if buf is None else vm.mem.map_dynamic(buf, f"value of map '{m.name}'")


def _errno_of(e: BaseException) -> int:
    code = getattr(e, "errno", None)
    if isinstance(code, int) and code:
        return -abs(code)
    text = str(e).lower()
    if "exist" in text and "not" not in text:
        return -errno.EEXIST
    if "full" in text or "max" in text:
        return -errno.E2BIG
    if "not found" in text or "no such" in text or "does not exist" in text:
        return -errno.ENOENT
    return -errno.EINVAL


@helper("map_update_elem")
def map_update_elem(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    m = _map(vm, r1, "map_update_elem")
    key = vm.mem.read(r2, m.key_size)
    value = vm.mem.read(r3, m.value_size)
    if hasattr(m, "helper_update"):
        return int(m.helper_update(key, value, r4, vm.cpu))
    try:
        m.update_raw(key, value, r4)
    except Exception as e:  # a foreign Map reports errors as exceptions
        return _errno_of(e)
    return 0


@helper("map_delete_elem")
def map_delete_elem(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    m = _map(vm, r1, "map_delete_elem")
    key = vm.mem.read(r2, m.key_size)
    if hasattr(m, "helper_delete"):
        return int(m.helper_delete(key))
    try:
        return 0 if m.delete_raw(key) else -errno.ENOENT
    except Exception as e:
        return _errno_of(e)


@helper("map_push_elem")
def map_push_elem(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    m = _map(vm, r1, "map_push_elem")
    return int(m.helper_push(vm.mem.read(r2, m.value_size), r3))


def _pop_like(vm: VmProgram, r1: int, r2: int, what: str) -> int:
    m = _map(vm, r1, what)
    if m.type == MapType.BLOOM_FILTER:  # peek asks "maybe present?" about the value at r2
        if what == "map_pop_elem":
            return -errno.EOPNOTSUPP
        return 0 if m.helper_peek(vm.mem.read(r2, m.value_size)) is not None else -errno.ENOENT
    value = m.helper_pop() if what == "map_pop_elem" else m.helper_peek()
    if value is None:
        return -errno.ENOENT
    vm.mem.write(r2, bytes(value))
    return 0


@helper("map_pop_elem")
def map_pop_elem(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    return _pop_like(vm, r1, r2, "map_pop_elem")


@helper("map_peek_elem")
def map_peek_elem(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    return _pop_like(vm, r1, r2, "map_peek_elem")


# -- time, cpu, task -----------------------------------------------------

@helper("ktime_get_ns")
def ktime_get_ns(vm: VmProgram, *_: int) -> int:
    return vm.clock()


@helper("ktime_get_boot_ns")
def ktime_get_boot_ns(vm: VmProgram, *_: int) -> int:
    return vm.boot_clock()


@helper("ktime_get_coarse_ns")
def ktime_get_coarse_ns(vm: VmProgram, *_: int) -> int:
    return vm.clock()


@helper("ktime_get_tai_ns")
def ktime_get_tai_ns(vm: VmProgram, *_: int) -> int:
    return time.clock_gettime_ns(getattr(time, "CLOCK_TAI", time.CLOCK_REALTIME))


@helper("jiffies64")
def jiffies64(vm: VmProgram, *_: int) -> int:
    return vm.clock() // 4_000_000


@helper("get_prandom_u32")
def get_prandom_u32(vm: VmProgram, *_: int) -> int:
    return vm.random.getrandbits(32)


@helper("get_smp_processor_id")
def get_smp_processor_id(vm: VmProgram, *_: int) -> int:
    return vm.cpu


@helper("get_numa_node_id")
def get_numa_node_id(vm: VmProgram, *_: int) -> int:
    return 0


@helper("get_current_pid_tgid")
def get_current_pid_tgid(vm: VmProgram, *_: int) -> int:
    return ((vm.tgid & M32) << 32) | (vm.pid & M32)


@helper("get_current_uid_gid")
def get_current_uid_gid(vm: VmProgram, *_: int) -> int:
    return ((vm.gid & M32) << 32) | (vm.uid & M32)


@helper("get_current_cgroup_id")
def get_current_cgroup_id(vm: VmProgram, *_: int) -> int:
    return vm.cgroup_id


@helper("get_current_comm")
def get_current_comm(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    if r2 == 0:
        return -errno.EINVAL
    raw = vm.comm.encode()[: r2 - 1]
    try:
        dst = vm.mem.view(r1, r2, write=True)
    except MemFault:
        return -errno.EFAULT
    dst[:] = raw + bytes(r2 - len(raw))
    return 0


# -- memory --------------------------------------------------------------

def _probe_read(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    try:
        dst = vm.mem.view(r1, r2, write=True)  # checked first: no allocation of r2 bytes
    except MemFault:
        return -errno.EFAULT
    try:
        dst[:] = vm.mem.read(r3, r2)
    except MemFault:
        dst[:] = bytes(len(dst))
        return -errno.EFAULT
    return 0


def _probe_read_str(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    if r2 == 0:
        return 0
    try:
        dst = vm.mem.view(r1, r2, write=True)
    except MemFault:
        return -errno.EFAULT
    try:
        raw = vm.mem.cstr(r3, r2 - 1)
    except MemFault:
        dst[:] = bytes(len(dst))
        return -errno.EFAULT
    dst[:len(raw) + 1] = raw + b"\0"
    return len(raw) + 1


for _name in ("probe_read", "probe_read_kernel", "probe_read_user"):
    register_helper(_name, _probe_read)
for _name in ("probe_read_str", "probe_read_kernel_str", "probe_read_user_str"):
    register_helper(_name, _probe_read_str)


@helper("strncmp")
def strncmp(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    a = vm.mem.read(r1, r2)
    nul = a.find(b"\0")
    a = a if nul < 0 else a[:nul + 1]
    b = vm.mem.cstr(r3, r2) + b"\0"
    for x, y in zip(a, b, strict=False):
        if x != y:
            return x - y
        if x == 0:
            return 0
    return 0


# -- output ---------------------------------------------------------------

_FMT_RE = re.compile(rb"%([-+ 0#]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXpsc%])")


def format_printk(vm: VmProgram, fmt: bytes, args: list[int]) -> bytes:
    """printf-style formatting of the kernel's helper subset; %s args are VM addresses."""
    out = []
    pos = 0
    k = 0
    for m in _FMT_RE.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, length, conv = m.groups()
        if conv == b"%":
            out.append(b"%")
            continue
        v = args[k] if k < len(args) else 0
        k += 1
        bits = 64 if length in (b"l", b"ll", b"z") else 32
        if conv in (b"d", b"i"):
            v &= (1 << bits) - 1
            v = v - (1 << bits) if v >> (bits - 1) else v
            spec, val = "d", v
        elif conv == b"u":
            spec, val = "d", v & ((1 << bits) - 1)
        elif conv in (b"x", b"X"):
            spec, val = conv.decode(), v & ((1 << bits) - 1)
        elif conv == b"p":
            out.append(f"0x{v & M64:x}".encode())
            continue
        elif conv == b"c":
            out.append(bytes([v & 0xFF]))
            continue
        else:  # %s
            try:
                s = vm.mem.cstr(v, 4096)
            except MemFault:
                s = b"(efault)"
            w = f"{'-' if b'-' in flags else ''}{width.decode()}"
            p = f".{prec.decode()}" if prec else ""
            out.append(f"%{w}{p}s".encode() % s)
            continue
        pyspec = "%" + flags.decode() + width.decode() + spec
        out.append((pyspec % val).encode())
    out.append(fmt[pos:])
    return b"".join(out)


@helper("trace_printk")
def trace_printk(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    try:
        fmt = vm.mem.read(r1, r2).split(b"\0", 1)[0]
    except MemFault:
        return -errno.EFAULT
    text = format_printk(vm, fmt, [r3, r4, r5])
    vm.printk.append(text.decode(errors="replace"))
    return len(text)


@helper("snprintf")
def snprintf(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    if r5 % 8 or r5 > 12 * 8:
        return -errno.EINVAL
    try:
        fmt = vm.mem.cstr(r3, 4096)
        raw = vm.mem.read(r4, r5) if r5 else b""
    except MemFault:
        return -errno.EFAULT
    args = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, r5, 8)]
    text = format_printk(vm, fmt, args)
    if r2:
        out = text[: r2 - 1] + b"\0"
        try:
            vm.mem.write(r1, out)
        except MemFault:
            return -errno.EFAULT
    return len(text) + 1


@helper("perf_event_output")
def perf_event_output(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = _map(vm, r2, "perf_event_output")
    cpu = r3 & M32
    if cpu == M32:  # BPF_F_CURRENT_CPU
        cpu = vm.cpu
    try:
        data = vm.mem.read(r4, r5)
    except MemFault:
        return -errno.EFAULT
    return int(m.output(cpu, data))


@helper("ringbuf_output")
def ringbuf_output(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    m = _map(vm, r1, "ringbuf_output")
    try:
        data = vm.mem.read(r2, r3)
    except MemFault:
        return -errno.EFAULT
    return int(m.output(data))


@helper("ringbuf_reserve")
def ringbuf_reserve(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    m = _map(vm, r1, "ringbuf_reserve")
    buf = m.reserve(r2)
    if buf is None:
        return 0
    addr = vm.mem.map_dynamic(buf, f"record of ringbuf '{m.name}'")
    vm.records[addr >> 32] = (m, buf)
    return addr


def _finish_record(vm: VmProgram, r1: int, submit: bool) -> int:
    rec = vm.records.pop(r1 >> 32, None)
    if rec is None or r1 & M32:
        raise VmError(f"ringbuf {'submit' if submit else 'discard'} of 0x{r1:x}, which is "
                      "not a reserved record")
    m, buf = rec
    vm.mem.unmap(r1 >> 32)
    (m.submit if submit else m.discard)(buf)
    return 0


@helper("ringbuf_submit")
def ringbuf_submit(vm: VmProgram, r1: int, *_: int) -> int:
    return _finish_record(vm, r1, True)


@helper("ringbuf_discard")
def ringbuf_discard(vm: VmProgram, r1: int, *_: int) -> int:
    return _finish_record(vm, r1, False)


@helper("ringbuf_query")
def ringbuf_query(vm: VmProgram, r1: int, r2: int, *_: int) -> int:
    return int(_map(vm, r1, "ringbuf_query").query(r2))


# -- control ----------------------------------------------------------------

MAX_TAIL_CALLS = 33
MAX_LOOPS = 1 << 23


@helper("tail_call", syncs_state=True)
def tail_call(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    m = _map(vm, r2, "tail_call")
    target = m.program_at(r3 & M32) if (r3 & M32) < m.max_entries else None
    if target is None or vm.tail_calls >= MAX_TAIL_CALLS:
        return -errno.ENOENT
    raise TailCall(target, vm.n)


@helper("loop", syncs_state=True)
def bpf_loop(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    if r4:
        return -errno.EINVAL
    if r1 > MAX_LOOPS:
        return -errno.E2BIG
    fn = vm.function_at(r2)
    depth = vm.d + 1
    if depth >= 8:
        raise VmError("bpf_loop callback exceeds the call depth limit of 8", vm.pc)
    n, budget, pc = vm.n, vm.budget, vm.pc
    for i in range(r1):
        r0, n = fn(i, r3, 0, 0, 0, depth, n)
        if n > budget:
            raise vm.over(pc)
        if r0 & M64:
            vm.n = n
            return i + 1
    vm.n = n
    return r1


@helper("spin_lock")
def spin_lock(vm: VmProgram, *_: int) -> int:
    return 0


@helper("spin_unlock")
def spin_unlock(vm: VmProgram, *_: int) -> int:
    return 0


__all__ = ["HELPERS", "Helper", "ProgramExit", "TailCall", "register_helper", "format_printk",
           "_s64"]
