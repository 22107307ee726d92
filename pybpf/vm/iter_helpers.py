"""Helpers that call back into the program or walk its stacks: for_each_map_elem,
get_stackid and get_stack.

Registered on import (``pybpf.vm.program`` imports this module). The vm has no
kernel or user call stacks of its own: the stack helpers report the addresses the
caller set on the program (``vm.kstack`` / ``vm.ustack``, innermost first).
"""

from __future__ import annotations

import errno
import struct

from .helpers import helper
from .memory import M64, VmError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from .program import VmProgram

BPF_F_SKIP_FIELD_MASK = 0xFF
BPF_F_USER_STACK = 1 << 8
MAX_CALL_DEPTH = 8


def _callback(vm: VmProgram, addr: int, what: str) -> tuple[Any, int]:
    fn = vm.function_at(addr)
    depth = vm.d + 1
    if depth >= MAX_CALL_DEPTH:
        raise VmError(f"{what} callback exceeds the call depth limit of {MAX_CALL_DEPTH}", vm.pc)
    return fn, depth


@helper("for_each_map_elem", syncs_state=True)
def for_each_map_elem(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    """Call ``r2(map, &key, &value, r3)`` for each element until it returns 1."""
    if r4:
        return -errno.EINVAL
    m = vm.map_at(r1)
    if m is None:
        raise VmError(f"for_each_map_elem: 0x{r1:x} is not a map", vm.pc)
    fn, depth = _callback(vm, r2, "for_each_map_elem")
    mem = vm.mem
    n, budget, pc = vm.n, vm.budget, vm.pc
    visited = 0
    for key in list(m.keys_raw()):
        value = m.value_buffer(key, vm.cpu)
        if value is None:  # deleted by an earlier callback
            continue
        key_addr = mem.map_dynamic(bytearray(key), f"key of map '{m.name}'", writable=False)
        value_addr = mem.rid_of(value) << 32 or mem.map_dynamic(
            value, f"value of map '{m.name}'", writable=not vm.is_frozen(m))
        r0, n = fn(r1, key_addr, value_addr, r3, 0, depth, n)
        visited += 1
        if n > budget:
            raise vm.over(pc)
        if r0 & M64:
            break
    vm.n = n
    return visited


def _stack_ips(vm: VmProgram, flags: int) -> list[int]:
    stack = getattr(vm, "ustack" if flags & BPF_F_USER_STACK else "kstack", None) or []
    return [ip & M64 for ip in stack[flags & BPF_F_SKIP_FIELD_MASK:]]


@helper("get_stackid")
def get_stackid(vm: VmProgram, r1: int, r2: int, r3: int, *_: int) -> int:
    m = vm.map_at(r2)
    if m is None or not hasattr(m, "store_stack"):
        return -errno.EINVAL
    return int(m.store_stack(_stack_ips(vm, r3)[:m.depth], r3))


@helper("get_stack")
def get_stack(vm: VmProgram, r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    """Copy the stack into ``r2`` (``r3`` bytes); returns the bytes written or -errno."""
    if r3 % 8:
        return -errno.EINVAL
    ips = _stack_ips(vm, r4)[:r3 // 8]
    data = struct.pack(f"<{len(ips)}Q", *ips)
    vm.mem.write(r2, data.ljust(r3, b"\0"))
    return len(data)
