"""Loads, stores, atomics and the checked memory model."""

from __future__ import annotations

import re

import pytest
from vm_build import (
    alu,
    atomic,
    exit_,
    ld64,
    ldabs,
    ldind,
    ldx,
    mov,
    movr,
    ret,
    run,
    spec,
    st,
    stx,
)

from pybpf.uapi import ProgType
from pybpf.vm import VmError, VmProgram

U64 = 0xFFFFFFFFFFFFFFFF
FP = 0x600000200  # frame 0's r10


@pytest.mark.parametrize("size,expected", [(1, 0x88), (2, 0x7788), (4, 0x55667788),
                                           (8, 0x1122334455667788)])
def test_store_and_load_every_size_on_the_stack(size: int, expected: int) -> None:
    assert ret(ld64(1, 0x1122334455667788), stx(8, 10, 1, -8), ldx(size, 0, 10, -8)) == expected
    assert ret(ld64(1, 0x1122334455667788), stx(size, 10, 1, -8), ldx(size, 0, 10, -8)) == expected


def test_loads_are_little_endian_at_offsets() -> None:
    assert ret(ld64(1, 0x1122334455667788), stx(8, 10, 1, -8), ldx(1, 0, 10, -7)) == 0x77
    assert ret(ld64(1, 0x1122334455667788), stx(8, 10, 1, -8), ldx(2, 0, 10, -4)) == 0x3344


@pytest.mark.parametrize("size,value,expected", [
    (1, 0x80, 0xFFFFFFFFFFFFFF80), (1, 0x7F, 0x7F), (2, 0x8001, 0xFFFFFFFFFFFF8001),
    (4, 0x80000000, 0xFFFFFFFF80000000), (4, 0x7FFFFFFF, 0x7FFFFFFF),
])
def test_sign_extending_loads(size: int, value: int, expected: int) -> None:
    assert ret(ld64(1, value), stx(8, 10, 1, -8), ldx(size, 0, 10, -8, sx=True)) == expected


def test_store_immediate_truncates_to_the_size() -> None:
    assert ret(st(8, 10, -8, -1), ldx(8, 0, 10, -8)) == U64  # sign-extended to 64
    assert ret(st(8, 10, -8, 0), st(1, 10, -8, -1), ldx(8, 0, 10, -8)) == 0xFF
    assert ret(st(8, 10, -8, 0), st(2, 10, -8, 0x12345), ldx(8, 0, 10, -8)) == 0x2345
    assert ret(st(8, 10, -8, 0), st(4, 10, -4, -2), ldx(8, 0, 10, -8)) == 0xFFFFFFFE00000000


def test_raw_context_is_r1_with_length_in_r2() -> None:
    mem = bytearray(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09")
    assert ret(ldx(4, 0, 1, 4), ctx=mem) == 0x08070605
    assert ret(movr(0, 2), ctx=mem) == 9
    # stores land in the caller's buffer
    ret(st(1, 1, 0, 0x7F), mov(0, 0), ctx=mem)
    assert mem[0] == 0x7F


def test_out_of_bounds_read_names_insn_address_and_region() -> None:
    msg = f"insn 1: out-of-bounds read of 8 bytes at 0x{FP:x} (stack frame 0 is " \
          f"0x600000000-0x{FP:x})"
    with pytest.raises(VmError, match="^" + re.escape(msg) + "$"):
        run(mov(0, 0), ldx(8, 0, 10, 0), exit_())


def test_underflow_below_the_stack_is_caught() -> None:
    addr = FP - 520
    msg = f"insn 0: out-of-bounds write of 8 bytes at 0x{addr:x} (stack frame 0 is " \
          f"0x600000000-0x{FP:x})"
    with pytest.raises(VmError, match="^" + re.escape(msg) + "$"):
        run(stx(8, 10, 1, -520), exit_())


def test_context_overflow_and_null_pointer() -> None:
    msg = "insn 0: out-of-bounds read of 4 bytes at 0x200000002 (context is " \
          "0x200000000-0x200000004)"
    with pytest.raises(VmError, match="^" + re.escape(msg) + "$"):
        run(ldx(4, 0, 1, 2), exit_(), ctx=b"abcd")
    msg = "insn 1: read of 1 bytes at 0x10: null pointer dereference"
    with pytest.raises(VmError, match="^" + re.escape(msg) + "$"):
        run(mov(1, 0), ldx(1, 0, 1, 16), exit_())


def test_access_through_a_wild_pointer() -> None:
    with pytest.raises(VmError, match=r"^insn 2: write of 2 bytes at 0x123456789abc: "
                                      r"address is not mapped$"):
        run(ld64(1, 0x123456789ABC), st(2, 1, 0, 1), exit_())


def test_vm_errors_are_one_line_pybpf_errors() -> None:
    from pybpf.errors import PybpfError

    with pytest.raises(PybpfError) as info:
        run(ldx(8, 0, 10, 8), exit_())
    assert "\n" not in str(info.value)
    assert info.value.index == 0  # type: ignore[attr-defined]


# -- atomics -----------------------------------------------------------------

ADD, OR, AND, XOR, FETCH, XCHG, CMPXCHG = 0x00, 0x40, 0x50, 0xA0, 0x01, 0xE1, 0xF1


def _atomic(size: int, op: int, mem: int, src: int, r0: int = 0, result: str = "mem") -> int:
    body = [ld64(1, mem), stx(8, 10, 1, -8), ld64(2, src), ld64(0, r0),
            atomic(size, 10, 2, -8, op)]
    if result == "mem":
        body.append(ldx(8, 0, 10, -8))
    elif result == "src":
        body.append(movr(0, 2))
    return ret(*body)


@pytest.mark.parametrize("size,op,mem,src,expected", [
    (8, ADD, 5, 7, 12), (8, ADD, U64, 2, 1), (4, ADD, 0xAAAAAAAA_FFFFFFFF, 2, 0xAAAAAAAA_00000001),
    (8, OR, 0b1100, 0b0011, 0b1111), (4, OR, 0x1_0000_0000, 1, 0x1_0000_0001),
    (8, AND, 0b1100, 0b0110, 0b0100), (4, AND, 0xFF_0000_00FF, 0x0F, 0xFF_0000_000F),
    (8, XOR, 0b1100, 0b0110, 0b1010), (4, XOR, 0x5_0000_0003, 1, 0x5_0000_0002),
])
def test_atomic_ops_update_memory(size: int, op: int, mem: int, src: int, expected: int) -> None:
    assert _atomic(size, op, mem, src) == expected
    assert _atomic(size, op | FETCH, mem, src) == expected


@pytest.mark.parametrize("size,op,mem,src,old", [
    (8, ADD | FETCH, 5, 7, 5), (4, ADD | FETCH, 0x7_0000_0009, 1, 9),
    (8, OR | FETCH, 1, 2, 1), (8, AND | FETCH, 3, 1, 3), (8, XOR | FETCH, 6, 1, 6),
    (8, XCHG, 42, 7, 42), (4, XCHG, 0x1_FFFF_FFFF, 7, 0xFFFFFFFF),
])
def test_atomic_fetch_returns_the_old_value_in_src(size: int, op: int, mem: int, src: int,
                                                   old: int) -> None:
    assert _atomic(size, op, mem, src, result="src") == old


def test_xchg_writes_src() -> None:
    assert _atomic(8, XCHG, 42, 7) == 7
    assert _atomic(4, XCHG, 0x1_0000_002A, 7) == 0x1_0000_0007


def test_cmpxchg() -> None:
    # equal: memory gets src, r0 gets the old value
    assert _atomic(8, CMPXCHG, 10, 99, r0=10) == 99
    assert _atomic(8, CMPXCHG, 10, 99, r0=10, result="r0") == 10
    # not equal: memory unchanged, r0 = old value
    assert _atomic(8, CMPXCHG, 10, 99, r0=11) == 10
    assert _atomic(8, CMPXCHG, 10, 99, r0=11, result="r0") == 10
    # 32-bit compares the low half of r0 and zero-extends the old value into r0
    assert _atomic(4, CMPXCHG, 0x5_0000_000A, 99, r0=0xF_0000_000A) == 0x5_0000_0063
    assert _atomic(4, CMPXCHG, 0x5_0000_000A, 99, r0=1, result="r0") == 0xA


def test_atomic_out_of_bounds() -> None:
    with pytest.raises(VmError, match=r"^insn 0: out-of-bounds read of 8 bytes"):
        run(atomic(8, 10, 1, 0, ADD), exit_())


# -- legacy packet loads -------------------------------------------------------

PKT = bytes(range(0x10, 0x30))


def _skb(*body, data: bytes = PKT):  # type: ignore[no-untyped-def]
    p = VmProgram(spec(*body, ptype=ProgType.SOCKET_FILTER))
    return p.run(b"", data)


def test_socket_filter_test_run_pulls_the_ethernet_header() -> None:
    p = VmProgram(spec(ldabs(1, 0), exit_(), ptype=ProgType.SOCKET_FILTER))
    res = p.test_run(PKT)
    assert res.retval == PKT[14]
    assert res.data_out == bytes(14) + PKT[14:]


def test_ld_abs_reads_big_endian() -> None:
    assert _skb(ldabs(1, 3), exit_()) == 0x13
    assert _skb(ldabs(2, 2), exit_()) == 0x1213
    assert _skb(ldabs(4, 0), exit_()) == 0x10111213


def test_ld_ind_adds_the_register() -> None:
    assert _skb(mov(2, 4), ldind(2, 2, 1), exit_()) == 0x1516


def test_ld_abs_out_of_bounds_ends_with_zero() -> None:
    assert _skb(mov(0, 5), ldabs(4, 30), mov(0, 9), exit_()) == 0
    assert _skb(mov(0, 5), mov(2, 40), ldind(1, 2, -9), mov(0, 9), exit_()) == 9  # 31 ok
    assert _skb(mov(0, 5), mov(2, 40), ldind(1, 2, -8), mov(0, 9), exit_()) == 0


# -- xdp and skb contexts -------------------------------------------------------

def test_xdp_context_gives_packet_pointers() -> None:
    body = [ldx(4, 2, 1, 0), ldx(4, 3, 1, 4),       # data, data_end
            movr(0, 3), alu("sub", 0, src=2),        # len
            ldx(1, 4, 2, 1), alu("lsh", 4, 8), alu("or", 0, src=4),
            exit_()]
    p = VmProgram(spec(*body, ptype=ProgType.XDP))
    assert p.run(b"\x01\x02\x03") == 0x0203
    assert p.test_run(b"\xaa\xbb").retval == 0xBB02


def test_xdp_program_rewrites_the_packet() -> None:
    body = [ldx(4, 2, 1, 0), st(1, 2, 0, 0x55), mov(0, 2), exit_()]
    res = VmProgram(spec(*body, ptype=ProgType.XDP)).test_run(b"\x00\x01")
    assert (res.retval, res.data_out) == (2, b"\x55\x01")


def test_xdp_packet_bounds_are_enforced() -> None:
    body = [ldx(4, 2, 1, 0), ldx(1, 0, 2, 4), exit_()]
    with pytest.raises(VmError, match=r"^insn 1: out-of-bounds read of 1 bytes at "
                                      r"0x400000004 \(packet is 0x400000000-0x400000004\)$"):
        VmProgram(spec(*body, ptype=ProgType.XDP)).run(b"abcd")


def test_xdp_md_fields_come_from_ctx_in() -> None:
    import struct

    body = [ldx(4, 0, 1, 12), exit_()]  # ingress_ifindex
    ctx = struct.pack("<6I", 0, 0, 0, 7, 0, 0)
    assert VmProgram(spec(*body, ptype=ProgType.XDP)).test_run(b"x", ctx=ctx).retval == 7


def test_skb_len_and_data_pointers() -> None:
    body = [ldx(4, 2, 1, 76), ldx(4, 3, 1, 80), movr(0, 3), alu("sub", 0, src=2),
            ldx(4, 4, 1, 0), alu("lsh", 4, 8), alu("or", 0, src=4), exit_()]
    assert _skb(*body, data=b"12345") == (5 << 8) | 5
