"""`pybpf run OBJ.o --section S --pcap FILE` and `pybpf disasm OBJ.o` with source lines."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from bpf.build import build, missing

from pybpf.cli.main import main

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"{missing()}")


def _pcap(path: Path, packets: list[bytes]) -> Path:
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET
    recs = b"".join(struct.pack("<IIII", 1, 0, len(p), len(p)) + p for p in packets)
    path.write_bytes(head + recs)
    return path


ETH_IPV4 = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"\x45" + b"\0" * 40
ETH_ARP = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\0" * 28


@pytest.mark.parametrize("backend", ["vm", "kernel"])
def test_run_object_section_on_pcap_packet(tmp_path: Path, backend: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    if backend == "kernel":
        import os

        if os.geteuid() != 0:
            pytest.skip("kernel test run needs root")
    obj = build("xdp")
    cap = _pcap(tmp_path / "one.pcap", [ETH_IPV4, ETH_ARP])
    assert main(["run", obj, "--section", "xdp", "--pcap", str(cap),
                 "--backend", backend]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "r0 = 2 (0x2)"  # XDP_PASS
    if backend == "kernel":
        return  # the kernel's test run refuses packets shorter than an Ethernet header
    short = _pcap(tmp_path / "short.pcap", [b"\x01\x02"])
    assert main(["run", obj, "--section", "xdp", "--pcap", str(short),
                 "--backend", backend]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "r0 = 0 (0x0)"  # XDP_ABORTED


def test_run_section_errors_are_one_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    obj = build("xdp")
    assert main(["run", obj, "--section", "tc"]) == 2
    err = capsys.readouterr().err
    assert "no program in section 'tc' (sections: " in err and err.count("\n") == 1
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
    assert main(["run", obj, "--section", "xdp", "--pcap", str(bad)]) == 2
    assert "not a pcap capture file (pcapng: convert with 'editcap -F pcap')" in \
        capsys.readouterr().err


def test_disasm_object_shows_source_lines(capsys: pytest.CaptureFixture[str]) -> None:
    obj = build("xdp")
    assert main(["disasm", obj]) == 0
    out = capsys.readouterr().out
    assert "count_proto (xdp):\n; void *data = (void *)(long)ctx->data" in out
    assert "; proto = bpf_ntohs(eth->h_proto); @ xdp.bpf.c:" in out
