"""vm vs kernel: helper return values, map semantics seen from a program, packet helpers.

Each program stores every helper's return value in one array map slot, so one run
compares a whole sequence of operations between the backends.
"""

from __future__ import annotations

import errno
import struct

import pytest

from pybpf.asm import assemble_program
from pybpf.spec import CollectionSpec, MapSpec
from pybpf.uapi import MapType, ProgType

pytestmark = pytest.mark.kernel

PKT = bytes(range(64))


def _prologue() -> list[str]:
    """r6 = ctx; r9 = &out[0] (the result slots)."""
    return ["r6 = r1", "*(u32 *)(r10 - 4) = 0", "r2 = r10", "r2 += -4",
            "r1 = map_fd(out) ll", "call bpf_map_lookup_elem", "if r0 == 0 goto end", "r9 = r0"]


def _run_both(ptype: ProgType, steps: list[list[str]], maps: dict[str, MapSpec],
              data: bytes = PKT) -> dict[str, tuple[list[int], bytes]]:
    lines = _prologue()
    for i, body in enumerate(steps):
        lines += ["r1 = r6", *body, f"*(u64 *)(r9 + {8 * i}) = r0"]
    lines += ["end:", "r0 = 2", "exit"]
    prog = assemble_program("\n".join(lines) + "\n", "qa.s").to_spec("qa", ptype)
    all_maps = {"out": MapSpec("out", MapType.ARRAY, 4, 8 * len(steps), 1), **maps}
    got = {}
    for backend in ("vm", "kernel"):
        with CollectionSpec(programs={"qa": prog}, maps=all_maps).load(backend) as c:
            res = c.programs["qa"].test_run(data)
            raw = c.maps["out"].lookup_raw(b"\0" * 4)
            vals = struct.unpack(f"<{len(steps)}q", raw)
            got[backend] = (list(vals), res.data_out)
    return got


def _update(m: str, key: int, val: int, flags: int) -> list[str]:
    return [f"*(u32 *)(r10 - 4) = {key}", f"*(u64 *)(r10 - 16) = {val}", f"r1 = map_fd({m}) ll",
            "r2 = r10", "r2 += -4", "r3 = r10", "r3 += -16", f"r4 = {flags}",
            "call bpf_map_update_elem"]


def _delete(m: str, key: int) -> list[str]:
    return [f"*(u32 *)(r10 - 4) = {key}", f"r1 = map_fd({m}) ll", "r2 = r10", "r2 += -4",
            "call bpf_map_delete_elem"]


def _lookup(m: str, key: int, label: str) -> list[str]:
    """The u64 value at ``key`` or 0."""
    return [f"*(u32 *)(r10 - 4) = {key}", f"r1 = map_fd({m}) ll", "r2 = r10", "r2 += -4",
            "call bpf_map_lookup_elem", f"if r0 == 0 goto {label}", "r0 = *(u64 *)(r0 + 0)",
            f"{label}:"]


def _push(m: str, val: int, flags: int) -> list[str]:
    return [f"*(u64 *)(r10 - 16) = {val}", f"r1 = map_fd({m}) ll", "r2 = r10", "r2 += -16",
            f"r3 = {flags}", "call bpf_map_push_elem"]


def _pop(m: str, op: str) -> list[str]:
    """Return value + (popped value << 8)."""
    return ["*(u64 *)(r10 - 16) = 0", f"r1 = map_fd({m}) ll", "r2 = r10", "r2 += -16",
            f"call bpf_map_{op}_elem", "r1 = *(u64 *)(r10 - 16)", "r1 <<= 8", "r0 += r1"]


def test_map_helper_return_values_agree() -> None:
    steps = [
        _update("h", 1, 10, 0), _update("h", 1, 11, 1), _update("h", 2, 12, 2),
        _update("h", 2, 12, 0), _update("h", 3, 13, 0), _delete("h", 5), _delete("h", 1),
        _update("h", 3, 13, 1), _update("h", 9, 1, 99), _lookup("h", 2, "l0"),
        _lookup("h", 1, "l1"),
        _update("a", 2, 1, 0), _update("a", 0, 1, 1), _update("a", 1, 7, 2), _delete("a", 0),
        _lookup("a", 5, "l2"),
        _push("q", 21, 0), _push("q", 22, 0), _push("q", 23, 2), _pop("q", "peek"),
        _pop("q", "pop"), _pop("q", "pop"), _pop("q", "pop"),
        _push("s", 31, 0), _push("s", 32, 0), _pop("s", "pop"),
        _update("p", 0, 5, 0), _lookup("p", 0, "l3"),
        _update("l", 1, 1, 0), _update("l", 2, 2, 0), _update("l", 3, 3, 0),
        _lookup("l", 1, "l4"), _lookup("l", 3, "l5"),
    ]
    got = _run_both(ProgType.SOCKET_FILTER, steps, {
        "h": MapSpec("h", MapType.HASH, 4, 8, 2), "a": MapSpec("a", MapType.ARRAY, 4, 8, 2),
        "q": MapSpec("q", MapType.QUEUE, 0, 8, 2), "s": MapSpec("s", MapType.STACK, 0, 8, 2),
        "p": MapSpec("p", MapType.PERCPU_ARRAY, 4, 8, 1),
        "l": MapSpec("l", MapType.LRU_HASH, 4, 8, 2),
    })
    vm, kernel = got["vm"][0], got["kernel"][0]
    assert vm == kernel
    # the errnos the sequence is built to hit, so a change in both at once still shows
    assert vm[1:6] == [-errno.EEXIST, -errno.ENOENT, 0, -errno.E2BIG, -errno.ENOENT]
    assert vm[8] == -errno.EINVAL and vm[14] == -errno.EINVAL  # bad flags; array delete
    assert vm[22] == -errno.ENOENT  # pop from an empty queue


def test_packet_load_helpers_agree() -> None:
    def skb(off: int, n: int) -> list[str]:
        return ["*(u64 *)(r10 - 64) = -1", f"r2 = {off}", "r3 = r10", "r3 += -64", f"r4 = {n}",
                "call bpf_skb_load_bytes", "r1 = *(u64 *)(r10 - 64)", "r1 <<= 8", "r0 ^= r1"]

    steps = [skb(0, 8), skb(40, 8), skb(43, 8), skb(100, 4), skb(-1, 4), skb(0, 1)]
    results = {}
    for ptype in (ProgType.SOCKET_FILTER, ProgType.SCHED_CLS):
        got = _run_both(ptype, steps, {})
        assert got["vm"] == got["kernel"], ptype
        results[ptype] = got["vm"][0]
    # socket filters see the packet after the Ethernet header (50 bytes): 43+8 is past
    # the end there (-EFAULT, buffer zeroed), not for tc, which sees all 64
    assert results[ProgType.SOCKET_FILTER][2] == -errno.EFAULT
    shifted = (int.from_bytes(PKT[43:51], "little") << 8) & (2**64 - 1)
    assert results[ProgType.SCHED_CLS][2] == shifted - (2**64 if shifted >> 63 else 0)


def test_xdp_load_store_helpers_agree() -> None:
    def load(off: int, n: int) -> list[str]:
        return ["*(u64 *)(r10 - 64) = 0", f"r2 = {off}", "r3 = r10", "r3 += -64", f"r4 = {n}",
                "call bpf_xdp_load_bytes", "r1 = *(u64 *)(r10 - 64)", "r1 <<= 8", "r0 ^= r1"]

    def store(off: int, n: int) -> list[str]:
        return ["*(u64 *)(r10 - 64) = 0x4142", f"r2 = {off}", "r3 = r10", "r3 += -64",
                f"r4 = {n}", "call bpf_xdp_store_bytes"]

    steps = [load(0, 8), load(56, 8), load(57, 8), load(0x10000, 4), load(-1, 4),
             store(0, 2), store(63, 2), store(0x10000, 2), load(0, 8),
             ["call bpf_xdp_get_buff_len"]]
    got = _run_both(ProgType.XDP, steps, {})
    assert got["vm"] == got["kernel"]
    vals, data_out = got["vm"]
    assert vals[2] == -errno.EINVAL and vals[3] == -errno.EFAULT and vals[9] == len(PKT)
    assert data_out[:2] == b"\x42\x41" and data_out[2:] == PKT[2:]


def test_ringbuf_helpers_agree() -> None:
    def query(flag: int) -> list[str]:
        return ["r1 = map_fd(rb) ll", f"r2 = {flag}", "call bpf_ringbuf_query"]

    def output(flags: int) -> list[str]:
        return ["*(u64 *)(r10 - 16) = 7", "r1 = map_fd(rb) ll", "r2 = r10", "r2 += -16",
                "r3 = 8", f"r4 = {flags}", "call bpf_ringbuf_output"]

    reserve_discard = ["r1 = map_fd(rb) ll", "r2 = 8", "r3 = 0", "call bpf_ringbuf_reserve",
                       "if r0 == 0 goto rd", "r1 = r0", "r2 = 0", "call bpf_ringbuf_discard",
                       "r0 = 1", "rd:"]
    steps = [output(0), query(0), query(1), query(2), query(3), output(1), query(0),
             reserve_discard, query(0), query(3)]
    got = _run_both(ProgType.SOCKET_FILTER, steps,
                    {"rb": MapSpec("rb", MapType.RINGBUF, 0, 0, 4096)})
    assert got["vm"] == got["kernel"]
    vals = got["vm"][0]
    # 8-byte header + 8 bytes per record; a discarded record still holds its space
    assert vals[1] == 16 and vals[2] == 4096 and vals[8] == 48
