"""One program, two backends: count test runs in an array map, in the vm and in the kernel.

    python examples/count_packets.py            # vm and (as root) kernel
"""

from __future__ import annotations

import os
import sys

from pybpf.asm import assemble_program
from pybpf.spec import CollectionSpec, MapSpec
from pybpf.uapi import MapType, ProgType

SOURCE = """
    *(u32 *)(r10 - 4) = 0          # key 0
    r2 = r10
    r2 += -4
    r1 = map_fd(counts) ll
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
out:
    r0 = 0
    exit
"""


def build() -> CollectionSpec:
    prog = assemble_program(SOURCE, "count.s")
    return CollectionSpec(
        programs={"count": prog.to_spec("count", ProgType.SOCKET_FILTER)},
        maps={"counts": MapSpec("counts", MapType.ARRAY, 4, 8, 1)},
    )


def count(backend: str, runs: int) -> int:
    with build().load(backend) as coll:
        for _ in range(runs):
            coll.programs["count"].test_run(b"\0" * 64)
        return int(coll.maps["counts"].typed(key="u32", value="u64")[0])


if __name__ == "__main__":
    backends = ["vm", "kernel"] if os.geteuid() == 0 else ["vm"]
    for b in backends:
        print(f"{b}: {count(b, 3)}")
    sys.exit(0)
