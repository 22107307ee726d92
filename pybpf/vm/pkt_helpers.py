"""Packet helpers: copy bytes between the packet and program memory.

The vm keeps the packet of an XDP or skb program in ``vm.packet`` (for socket
filters it starts at the network header, as after the kernel's test-run pull), so
these helpers only bounds-check offsets the way the kernel does and copy. Helpers
that move the packet's head or tail (adjust_head, change_tail) are not here: the
vm maps the packet at a fixed size.
"""

from __future__ import annotations

import errno

from .helpers import helper
from .memory import MemFault

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from .program import VmProgram

# bpf_xdp_pointer() refuses offsets and lengths above 0xffff with EFAULT.
XDP_MAX = 0xFFFF
INT_MAX = (1 << 31) - 1


def _copy_out(vm: VmProgram, offset: int, dst: int, n: int, *, err: int,
              zero_on_err: bool) -> int:
    """Packet[offset:offset+n] into program memory at ``dst``: 0 or -errno."""
    try:
        view = vm.mem.view(dst, n, write=True)
    except MemFault:
        return -errno.EFAULT
    pkt = vm.packet
    if offset + n > len(pkt):
        if zero_on_err:
            view[:] = bytes(n)
        return -err
    view[:] = pkt[offset:offset + n]
    return 0


@helper("skb_load_bytes")
def skb_load_bytes(vm: VmProgram, _r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    """bpf_skb_load_bytes: -EFAULT (and a zeroed buffer) when out of the packet."""
    offset = r2 & 0xFFFFFFFF
    if offset > INT_MAX:
        offset = len(vm.packet) + 1  # the kernel refuses offsets above INT_MAX
    return _copy_out(vm, offset, r3, r4 & 0xFFFFFFFF, err=errno.EFAULT, zero_on_err=True)


@helper("xdp_load_bytes")
def xdp_load_bytes(vm: VmProgram, _r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    """bpf_xdp_load_bytes: -EFAULT for offset/len above 0xffff, -EINVAL past the end."""
    offset, n = r2 & 0xFFFFFFFF, r4 & 0xFFFFFFFF
    if offset > XDP_MAX or n > XDP_MAX:
        return -errno.EFAULT
    return _copy_out(vm, offset, r3, n, err=errno.EINVAL, zero_on_err=False)


@helper("xdp_store_bytes")
def xdp_store_bytes(vm: VmProgram, _r1: int, r2: int, r3: int, r4: int, *_: int) -> int:
    """bpf_xdp_store_bytes: program memory at ``r3`` into the packet at ``r2``."""
    offset, n = r2 & 0xFFFFFFFF, r4 & 0xFFFFFFFF
    if offset > XDP_MAX or n > XDP_MAX:
        return -errno.EFAULT
    if offset + n > len(vm.packet):
        return -errno.EINVAL
    try:
        vm.packet[offset:offset + n] = vm.mem.read(r3, n)
    except MemFault:
        return -errno.EFAULT
    return 0


@helper("xdp_get_buff_len")
def xdp_get_buff_len(vm: VmProgram, *_: int) -> int:
    """bpf_xdp_get_buff_len: the packet's length (the vm has no fragments)."""
    return len(vm.packet)
