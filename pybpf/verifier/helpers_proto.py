"""Prototypes of the helpers the verifier knows: argument kinds, return kind, who may call.

Mirrors the kernel's ``struct bpf_func_proto`` tables (kernel/bpf/helpers.c,
kernel/trace/bpf_trace.c, net/core/filter.c), trimmed to the commonly used helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from ..uapi import HELPER_IDS, MapType, ProgType


class Arg(Enum):
    ANYTHING = auto()  # any initialised value
    MAP_PTR = auto()  # CONST_PTR_TO_MAP
    MAP_KEY = auto()  # readable key_size bytes
    MAP_VALUE = auto()  # readable value_size bytes
    UNINIT_MAP_VALUE = auto()  # writable value_size bytes
    MEM = auto()  # readable memory, size in the next argument
    UNINIT_MEM = auto()  # writable memory, size in the next argument
    SIZE = auto()  # constant-bounded size > 0
    SIZE_OR_ZERO = auto()
    ALLOC_SIZE = auto()  # known constant size (ringbuf_reserve)
    CTX = auto()
    RINGBUF_MEM = auto()  # a reserved ringbuf record (released by the call)
    FUNC = auto()  # a callback subprogram
    STACK_OR_NULL = auto()  # callback context
    SPIN_LOCK = auto()


class Ret(Enum):
    INTEGER = auto()
    VOID = auto()
    MAP_VALUE_OR_NULL = auto()
    MEM_OR_NULL = auto()  # ringbuf record, size = the ALLOC_SIZE argument, acquires a ref
    BTF_ID = auto()


BASE = frozenset(ProgType)
TRACING = frozenset({ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.PERF_EVENT,
                     ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE,
                     ProgType.TRACING, ProgType.LSM})
SKB = frozenset({ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT,
                 ProgType.CGROUP_SKB, ProgType.LWT_IN, ProgType.LWT_OUT, ProgType.LWT_XMIT,
                 ProgType.SK_SKB})
SKB_WRITE = frozenset({ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.LWT_XMIT,
                       ProgType.SK_SKB})
XDP = frozenset({ProgType.XDP})
NET = SKB | XDP


@dataclass(frozen=True)
class Proto:
    name: str
    args: tuple[Arg, ...]
    ret: Ret = Ret.INTEGER
    progs: frozenset[ProgType] = BASE
    gpl: bool = False
    map_types: frozenset[MapType] | None = None  # allowed types of the MAP_PTR argument
    pkt_changing: bool = False  # invalidates packet pointers


A = Arg
_P: list[Proto] = [
    Proto("map_lookup_elem", (A.MAP_PTR, A.MAP_KEY), Ret.MAP_VALUE_OR_NULL),
    Proto("map_update_elem", (A.MAP_PTR, A.MAP_KEY, A.MAP_VALUE, A.ANYTHING)),
    Proto("map_delete_elem", (A.MAP_PTR, A.MAP_KEY)),
    Proto("map_push_elem", (A.MAP_PTR, A.MAP_VALUE, A.ANYTHING),
          map_types=frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})),
    Proto("map_pop_elem", (A.MAP_PTR, A.UNINIT_MAP_VALUE),
          map_types=frozenset({MapType.QUEUE, MapType.STACK})),
    Proto("map_peek_elem", (A.MAP_PTR, A.UNINIT_MAP_VALUE),
          map_types=frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})),
    Proto("probe_read", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), progs=TRACING, gpl=True),
    Proto("probe_read_str", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), progs=TRACING, gpl=True),
    Proto("probe_read_user", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), gpl=True),
    Proto("probe_read_kernel", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), gpl=True),
    Proto("probe_read_user_str", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), gpl=True),
    Proto("probe_read_kernel_str", (A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), gpl=True),
    Proto("ktime_get_ns", ()),
    Proto("ktime_get_boot_ns", ()),
    Proto("ktime_get_coarse_ns", ()),
    Proto("jiffies64", ()),
    Proto("trace_printk", (A.MEM, A.SIZE, A.ANYTHING, A.ANYTHING, A.ANYTHING), gpl=True),
    Proto("get_prandom_u32", ()),
    Proto("get_smp_processor_id", ()),
    Proto("get_numa_node_id", ()),
    Proto("tail_call", (A.CTX, A.MAP_PTR, A.ANYTHING), map_types=frozenset({MapType.PROG_ARRAY})),
    Proto("get_current_pid_tgid", ()),
    Proto("get_current_uid_gid", (), gpl=True),
    Proto("get_current_comm", (A.UNINIT_MEM, A.SIZE)),
    Proto("get_current_task", (), gpl=True),
    Proto("get_current_task_btf", (), Ret.BTF_ID, gpl=True),
    Proto("get_current_cgroup_id", ()),
    Proto("perf_event_output", (A.CTX, A.MAP_PTR, A.ANYTHING, A.MEM, A.SIZE_OR_ZERO),
          progs=TRACING | NET, map_types=frozenset({MapType.PERF_EVENT_ARRAY})),
    Proto("get_stackid", (A.CTX, A.MAP_PTR, A.ANYTHING), progs=TRACING,
          map_types=frozenset({MapType.STACK_TRACE})),
    Proto("get_stack", (A.CTX, A.UNINIT_MEM, A.SIZE_OR_ZERO, A.ANYTHING), progs=TRACING),
    Proto("redirect", (A.ANYTHING, A.ANYTHING), progs=SKB_WRITE | XDP),
    Proto("redirect_map", (A.MAP_PTR, A.ANYTHING, A.ANYTHING), progs=XDP,
          map_types=frozenset({MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP,
                               MapType.XSKMAP})),
    Proto("skb_load_bytes", (A.CTX, A.ANYTHING, A.UNINIT_MEM, A.SIZE), progs=SKB),
    Proto("skb_store_bytes", (A.CTX, A.ANYTHING, A.MEM, A.SIZE, A.ANYTHING), progs=SKB_WRITE,
          pkt_changing=True),
    Proto("get_socket_cookie", (A.CTX,), progs=SKB),
    Proto("get_socket_uid", (A.CTX,), progs=SKB),
    Proto("xdp_adjust_head", (A.CTX, A.ANYTHING), progs=XDP, pkt_changing=True),
    Proto("xdp_adjust_tail", (A.CTX, A.ANYTHING), progs=XDP, pkt_changing=True),
    Proto("xdp_adjust_meta", (A.CTX, A.ANYTHING), progs=XDP, pkt_changing=True),
    Proto("xdp_get_buff_len", (A.CTX,), progs=XDP),
    Proto("xdp_load_bytes", (A.CTX, A.ANYTHING, A.UNINIT_MEM, A.SIZE), progs=XDP),
    Proto("xdp_store_bytes", (A.CTX, A.ANYTHING, A.MEM, A.SIZE), progs=XDP),
    Proto("spin_lock", (A.SPIN_LOCK,), Ret.VOID),
    Proto("spin_unlock", (A.SPIN_LOCK,), Ret.VOID),
    Proto("ringbuf_output", (A.MAP_PTR, A.MEM, A.SIZE_OR_ZERO, A.ANYTHING),
          map_types=frozenset({MapType.RINGBUF})),
    Proto("ringbuf_reserve", (A.MAP_PTR, A.ALLOC_SIZE, A.ANYTHING), Ret.MEM_OR_NULL,
          map_types=frozenset({MapType.RINGBUF})),
    Proto("ringbuf_submit", (A.RINGBUF_MEM, A.ANYTHING), Ret.VOID),
    Proto("ringbuf_discard", (A.RINGBUF_MEM, A.ANYTHING), Ret.VOID),
    Proto("ringbuf_query", (A.MAP_PTR, A.ANYTHING), map_types=frozenset({MapType.RINGBUF})),
    Proto("loop", (A.ANYTHING, A.FUNC, A.STACK_OR_NULL, A.ANYTHING)),
]

PROTOS: dict[int, Proto] = {HELPER_IDS[p.name]: p for p in _P}

# Map types whose maps may be passed only to the helpers naming them in map_types.
SPECIAL_MAPS = frozenset({MapType.RINGBUF, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY,
                          MapType.STACK_TRACE, MapType.DEVMAP, MapType.DEVMAP_HASH,
                          MapType.CPUMAP, MapType.XSKMAP, MapType.QUEUE, MapType.STACK,
                          MapType.BLOOM_FILTER})


def map_allowed(p: Proto, mtype: int) -> bool:
    """Whether a map of type ``mtype`` may be this helper's map argument."""
    if p.map_types is not None:
        return mtype in p.map_types
    if mtype in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        return p.name == "map_lookup_elem"  # programs only read maps of maps
    if mtype in (MapType.QUEUE, MapType.STACK):
        return False
    if mtype == MapType.BLOOM_FILTER:
        return False
    return mtype not in SPECIAL_MAPS
