"""Userspace maps for the vm backend: ``create_map(spec, ncpus)`` makes any supported type.

Interpreter contract (see ``base.VmMap``): ``value_buffer`` gives the live bytearray of a
value, ``helper_update``/``helper_delete`` return 0 or -errno like the kernel helpers;
queue/stack/bloom have ``push``/``pop``/``peek``; the ring buffer has
``reserve``/``submit``/``discard``/``output``/``query``/``consume``; the perf event array
``output(cpu, data)``/``consume``; the prog array ``set_program``/``program_at``; maps of
maps ``inner_map(key)``.
"""

from __future__ import annotations

from ...spec import MapSpec
from ...uapi import MapType
from .arraymap import ArrayMap, PercpuArrayMap
from .base import MapOpError, VmMap, map_by_id, spec_error
from .fdarray import ArrayOfMapsMap, HashOfMapsMap, PerfEventArrayMap, ProgArrayMap
from .hashmap import HashMap, LruHashMap, LruPercpuHashMap, PercpuHashMap
from .lpm import LpmTrieMap
from .queue import BloomFilterMap, QueueMap, StackMap
from .ringbuf import RingBufMap
from .stacktrace import StackTraceMap

MAP_CLASSES: dict[MapType, type[VmMap]] = {
    MapType.HASH: HashMap,
    MapType.ARRAY: ArrayMap,
    MapType.PERCPU_HASH: PercpuHashMap,
    MapType.PERCPU_ARRAY: PercpuArrayMap,
    MapType.LRU_HASH: LruHashMap,
    MapType.LRU_PERCPU_HASH: LruPercpuHashMap,
    MapType.LPM_TRIE: LpmTrieMap,
    MapType.QUEUE: QueueMap,
    MapType.STACK: StackMap,
    MapType.BLOOM_FILTER: BloomFilterMap,
    MapType.RINGBUF: RingBufMap,
    MapType.PERF_EVENT_ARRAY: PerfEventArrayMap,
    MapType.PROG_ARRAY: ProgArrayMap,
    MapType.ARRAY_OF_MAPS: ArrayOfMapsMap,
    MapType.HASH_OF_MAPS: HashOfMapsMap,
    MapType.STACK_TRACE: StackTraceMap,
}


def create_map(spec: MapSpec, ncpus: int = 1) -> VmMap:
    """A live vm map for ``spec``, filled with ``spec.contents`` (then frozen if asked).

    Raises PybpfError naming the map when the type is unsupported or a size is invalid.
    """
    try:
        mtype = MapType(spec.type)
    except ValueError:
        raise spec_error_unknown(spec) from None
    cls = MAP_CLASSES.get(mtype)
    if cls is None:
        raise spec_error(spec, "this map type is not supported by the vm backend; "
                               "load it with the kernel backend")
    if ncpus < 1:
        raise spec_error(spec, f"ncpus must be >= 1, not {ncpus}")
    m = cls(spec, ncpus)
    for key, value in spec.contents:
        m.update_raw(key, value)
    if spec.freeze:
        m.freeze()
    return m


def spec_error_unknown(spec: MapSpec) -> Exception:
    from ...errors import PybpfError

    return PybpfError(f"map {spec.name!r}: unknown map type {spec.type}")


__all__ = [
    "MAP_CLASSES", "ArrayMap", "ArrayOfMapsMap", "BloomFilterMap", "HashMap", "HashOfMapsMap",
    "LpmTrieMap", "LruHashMap", "LruPercpuHashMap", "MapOpError", "PercpuArrayMap",
    "PercpuHashMap", "PerfEventArrayMap", "ProgArrayMap", "QueueMap", "RingBufMap", "StackMap",
    "StackTraceMap",
    "VmMap", "create_map", "map_by_id",
]
