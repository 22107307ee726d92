"""A veth pair with one end in a network namespace, and a tiny ICMP ping (no ping binary)."""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class VethPair:
    ns: str
    host_dev: str
    ns_dev: str
    host_ip: str
    ns_ip: str


@pytest.fixture
def veth() -> Iterator[VethPair]:
    """host ``pbA<pid>`` 10.231.x.1 <-> ``pbB<pid>`` 10.231.x.2 in netns ``pbns<pid>``."""
    tag = os.getpid() % 10000
    v = VethPair(f"pbns{tag}", f"pbA{tag}", f"pbB{tag}", f"10.231.{tag % 250}.1",
                 f"10.231.{tag % 250}.2")
    subprocess.run(["ip", "netns", "del", v.ns], capture_output=True)
    subprocess.run(["ip", "link", "del", v.host_dev], capture_output=True)
    try:
        _ip("netns", "add", v.ns)
        _ip("link", "add", v.host_dev, "type", "veth", "peer", "name", v.ns_dev, "netns", v.ns)
        for dev, ns in ((v.host_dev, None), (v.ns_dev, v.ns)):
            pre = ["netns", "exec", ns, "ip"] if ns else []
            conf = f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"
            if ns:
                subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", f"echo 1 > {conf}"],
                               capture_output=True)
            else:
                with open(conf, "w") as f:
                    f.write("1")
            ip = v.ns_ip if ns else v.host_ip
            _ip(*pre, "addr", "add", f"{ip}/24", "dev", dev)
            _ip(*pre, "link", "set", dev, "up")
        _ip("netns", "exec", v.ns, "ip", "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as e:
        subprocess.run(["ip", "netns", "del", v.ns], capture_output=True)
        pytest.skip(f"cannot create a veth pair in a network namespace: {e}")
    try:
        yield v
    finally:
        subprocess.run(["ip", "link", "del", v.host_dev], capture_output=True)
        subprocess.run(["ip", "netns", "del", v.ns], capture_output=True)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addr: str, count: int = 1, timeout: float = 0.5) -> int:
    """Send ``count`` ICMP echo requests; return how many got a reply."""
    ident = os.getpid() & 0xFFFF
    got = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        for seq in range(count):
            body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"pybpf-ping"
            pkt = body[:2] + struct.pack("!H", _checksum(body)) + body[4:]
            s.sendto(pkt, (addr, 0))
            end = time.monotonic() + timeout
            while True:
                left = end - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                data, _ = s.recvfrom(2048)
                ihl = (data[0] & 0xF) * 4
                typ, _, _, rid, rseq = struct.unpack_from("!BBHHH", data, ihl)
                if typ == 0 and rid == ident and rseq == seq:
                    got += 1
                    break
    return got
