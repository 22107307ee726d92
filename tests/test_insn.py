from __future__ import annotations

import pytest

from pybpf.asm import DecodeError, Insn, decode, encode, lddw
from pybpf.asm.insn import imm64_of


def test_lddw_round_trip() -> None:
    prog = [*lddw(1, 0x1122334455667788), Insn(0x95)]
    raw = encode(prog)
    assert raw.hex() == "180100008877665500000000443322119500000000000000"
    back = decode(raw)
    assert back == prog
    assert imm64_of(back[0], back[1]) == 0x1122334455667788


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (bytes.fromhex("18010000887766550000000044332211"[:16]), "truncated 64-bit immediate"),
        (bytes.fromhex("ff00000000000000"), "unknown opcode 0xff"),
        (bytes.fromhex("0710000001000000"), "reserved field src must be zero"),
        (bytes.fromhex("9501000000000000"), "reserved fields must be zero in exit"),
        (bytes.fromhex("d400000011000000"), "byte swap width"),
        (bytes.fromhex("950000"), "not a multiple of 8"),
    ],
)
def test_decode_rejects(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(raw)
