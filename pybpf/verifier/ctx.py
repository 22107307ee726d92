"""Program contexts: which offsets of r1's struct a program type may read or write.

Each checker answers one access ``(off, size, write)`` with the register type the
load produces (``T.SCALAR`` or a packet pointer) or a reason it is refused,
following the kernel's ``*_is_valid_access`` functions.
"""

from __future__ import annotations

from collections.abc import Callable

from ..uapi import ProgType
from .state import T

Result = int | str  # a type (T.*) on success, a reason on refusal
Checker = Callable[[int, int, bool], Result]

# struct __sk_buff (include/uapi/linux/bpf.h)
SKB_SIZE = 192
SKB_FIELDS: dict[int, tuple[str, int]] = {
    0: ("len", 4), 4: ("pkt_type", 4), 8: ("mark", 4), 12: ("queue_mapping", 4),
    16: ("protocol", 4), 20: ("vlan_present", 4), 24: ("vlan_tci", 4), 28: ("vlan_proto", 4),
    32: ("priority", 4), 36: ("ingress_ifindex", 4), 40: ("ifindex", 4), 44: ("tc_index", 4),
    48: ("cb[0]", 4), 52: ("cb[1]", 4), 56: ("cb[2]", 4), 60: ("cb[3]", 4), 64: ("cb[4]", 4),
    68: ("hash", 4), 72: ("tc_classid", 4), 76: ("data", 4), 80: ("data_end", 4),
    84: ("napi_id", 4), 88: ("family", 4), 92: ("remote_ip4", 4), 96: ("local_ip4", 4),
    100: ("remote_ip6[0]", 4), 104: ("remote_ip6[1]", 4), 108: ("remote_ip6[2]", 4),
    112: ("remote_ip6[3]", 4), 116: ("local_ip6[0]", 4), 120: ("local_ip6[1]", 4),
    124: ("local_ip6[2]", 4), 128: ("local_ip6[3]", 4), 132: ("remote_port", 4),
    136: ("local_port", 4), 140: ("data_meta", 4), 144: ("flow_keys", 8), 152: ("tstamp", 8),
    160: ("wire_len", 4), 164: ("gso_segs", 4), 168: ("sk", 8), 176: ("gso_size", 4),
    184: ("hwtstamp", 8),
}
_SKB_PKT = {76: T.PACKET, 80: T.PACKET_END, 140: T.PACKET_META}
_CB = range(48, 68)


def _skb_field(off: int, size: int) -> tuple[int, str, int] | str:
    if off < 0 or off >= SKB_SIZE:
        return f"offset {off} is outside struct __sk_buff ({SKB_SIZE} bytes)"
    if off % size:
        return f"misaligned access to struct __sk_buff at offset {off} size {size}"
    start = off & ~3
    if start not in SKB_FIELDS:
        start = off & ~7
    if start not in SKB_FIELDS:
        return f"offset {off} of struct __sk_buff is padding"
    name, fsize = SKB_FIELDS[start]
    return start, name, fsize


def _skb(writable: frozenset[int], pkt: bool, hidden: frozenset[int]) -> Checker:
    def check(off: int, size: int, write: bool) -> Result:
        f = _skb_field(off, size)
        if isinstance(f, str):
            return f
        start, name, fsize = f
        if start in hidden:
            return f"__sk_buff field {name} is not available to this program type"
        if start in _SKB_PKT:
            if not pkt:
                return f"this program type cannot access packet data through __sk_buff {name}"
            if write or size != 4 or off != start:
                return f"__sk_buff {name} must be read as a whole 32-bit word"
            return _SKB_PKT[start]
        if fsize == 8:
            if size != 8 or name in ("flow_keys", "sk"):
                return f"__sk_buff {name} cannot be accessed this way (size {size})"
        elif size > fsize or (off - start) + size > fsize:
            return f"access of {size} bytes at offset {off} crosses __sk_buff field {name}"
        if write:
            if start not in writable:
                return f"__sk_buff field {name} is read-only for this program type"
            if size != fsize and start not in _CB:
                return f"write to __sk_buff {name} must be {fsize} bytes"
        return T.SCALAR

    return check


_CB_OFFS = frozenset(range(48, 68, 4))
_SOCKET_FILTER = _skb(_CB_OFFS, False, frozenset({72, 144, 152, 160, 184}))
_TC = _skb(_CB_OFFS | {8, 12, 32, 44, 72, 152}, True, frozenset({144}))
_CGROUP_SKB = _skb(_CB_OFFS | {8, 32}, True, frozenset({72, 144}))

# struct xdp_md
_XDP_FIELDS = {0: T.PACKET, 4: T.PACKET_END, 8: T.PACKET_META, 12: T.SCALAR, 16: T.SCALAR}


def _xdp(off: int, size: int, write: bool) -> Result:
    if write:
        return "struct xdp_md is read-only"
    if off < 0 or off >= 24:
        return f"offset {off} is outside struct xdp_md (24 bytes)"
    if size != 4 or off % 4:
        return "struct xdp_md fields must be read as whole 32-bit words"
    if off not in _XDP_FIELDS:
        return "xdp_md egress_ifindex is only available to devmap programs"
    return _XDP_FIELDS[off]


def _readonly(limit: int, what: str) -> Checker:
    def check(off: int, size: int, write: bool) -> Result:
        if write:
            return f"the {what} context is read-only"
        if off < 0 or off + size > limit:
            return f"offset {off} size {size} is outside the {what} context ({limit} bytes)"
        if off % size:
            return f"misaligned context access at offset {off} size {size}"
        return T.SCALAR

    return check


CHECKERS: dict[int, Checker] = {
    ProgType.SOCKET_FILTER: _SOCKET_FILTER,
    ProgType.SCHED_CLS: _TC,
    ProgType.SCHED_ACT: _TC,
    ProgType.CGROUP_SKB: _CGROUP_SKB,
    ProgType.XDP: _xdp,
    ProgType.KPROBE: _readonly(168, "pt_regs"),
    ProgType.TRACEPOINT: _readonly(2048, "tracepoint"),
    ProgType.PERF_EVENT: _readonly(184, "perf event"),
    ProgType.RAW_TRACEPOINT: _readonly(96, "raw tracepoint"),
    ProgType.TRACING: _readonly(96, "tracing"),
}

# Program types whose direct packet pointers may be written through.
PKT_WRITABLE = frozenset({ProgType.XDP, ProgType.SCHED_CLS, ProgType.SCHED_ACT,
                          ProgType.LWT_XMIT, ProgType.SK_SKB})
LD_ABS_TYPES = frozenset({ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT,
                          ProgType.CGROUP_SKB})


def checker(prog_type: int) -> Checker | None:
    return CHECKERS.get(prog_type)
