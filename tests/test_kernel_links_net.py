"""Network attach points on the real kernel: XDP, tcx, cgroup hooks, socket filters."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from workloads.bpfprogs import hits_and_sum, stats_map
from workloads.fixtures import kstate, stats_of  # noqa: F401
from workloads.net import ping, veth  # noqa: F401

from pybpf.errors import PybpfError
from pybpf.kernel.links import (
    attach_cgroup,
    attach_socket_filter,
    attach_tcx,
    attach_xdp,
    cgroup2_root,
)
from pybpf.uapi import AttachType, ProgType

pytestmark = pytest.mark.kernel
XDP_DROP, XDP_PASS = 1, 2


@pytest.mark.parametrize("mode", ["generic", "native"])
def test_xdp_drop_fails_ping_pass_succeeds(kstate, veth, mode):  # noqa: F811
    assert ping(veth.ns_ip) == 1  # the pair works (and ARP is resolved)
    stats = kstate.map(stats_map())
    drop = kstate.load(hits_and_sum(ProgType.XDP, ret=XDP_DROP))
    with attach_xdp(drop, veth.host_dev, mode=mode) as link:
        assert link.info()["prog_id"] == drop.id
        assert ping(veth.ns_ip, count=3, timeout=0.3) == 0
    dropped, _ = stats_of(stats)
    assert dropped >= 3  # every echo reply came in and was dropped
    kstate.maps["stats"].update_raw(b"\0" * 4, b"\0" * 16)
    passer = kstate.load(hits_and_sum(ProgType.XDP, ret=XDP_PASS))
    with attach_xdp(passer, veth.host_dev, mode=mode):
        assert ping(veth.ns_ip, count=3) == 3
    assert stats_of(stats)[0] >= 3
    assert ping(veth.ns_ip) == 1  # detached


def test_xdp_link_update_swaps_program(kstate, veth):  # noqa: F811
    assert ping(veth.ns_ip) == 1
    kstate.map(stats_map())
    drop = kstate.load(hits_and_sum(ProgType.XDP, ret=XDP_DROP))
    passer = kstate.load(hits_and_sum(ProgType.XDP, ret=XDP_PASS))
    with attach_xdp(drop, veth.host_dev) as link:
        assert ping(veth.ns_ip, timeout=0.3) == 0
        with pytest.raises(PybpfError, match="update xdp"):
            link.update(passer, expected=passer)  # not the one attached
        link.update(passer, expected=drop)
        assert link.info()["prog_id"] == passer.id
        assert ping(veth.ns_ip, count=2) == 2
    with pytest.raises(PybpfError, match="closed"):
        link.update(drop)


def test_xdp_unknown_device_is_one_line_error():
    with pytest.raises(PybpfError, match="does not exist"):
        attach_xdp(0, "no-such-dev0")


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_tcx_counts_packets(kstate, veth, direction):  # noqa: F811
    assert ping(veth.ns_ip) == 1
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.SCHED_CLS, ret=0))  # TCX_PASS
    with attach_tcx(prog, veth.host_dev, direction) as link:
        assert link.kind == "tcx"
        assert ping(veth.ns_ip, count=5) == 5
    hits, _ = stats_of(stats)
    assert 5 <= hits <= 8  # 5 echo packets (+ the odd ARP refresh)


@pytest.fixture
def child_cgroup() -> Iterator[str]:
    try:
        root = cgroup2_root()
    except PybpfError as e:
        pytest.skip(str(e))
    path = os.path.join(root, f"pybpf-test-{os.getpid()}")
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    finally:
        os.rmdir(path)


def _run_in_cgroup(cgroup: str, code: str) -> subprocess.CompletedProcess[str]:
    def enter() -> None:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    return subprocess.run([sys.executable, "-c", code], preexec_fn=enter, capture_output=True,
                          text=True, timeout=60)


SEND_UDP = """
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({n}):
    s.sendto(b"x" * 10, r.getsockname())
for i in range({n}):
    r.recv(100)
print("ok")
"""


@pytest.mark.parametrize("hook", ["egress", "ingress"])
def test_cgroup_skb_counts_packets(kstate, child_cgroup, hook):  # noqa: F811
    stats = kstate.map(stats_map())
    at = AttachType.CGROUP_INET_EGRESS if hook == "egress" else AttachType.CGROUP_INET_INGRESS
    prog = kstate.load(hits_and_sum(ProgType.CGROUP_SKB, ret=1, attach_type=at))
    with attach_cgroup(prog, child_cgroup, hook):
        res = _run_in_cgroup(child_cgroup, SEND_UDP.format(n=17))
    assert res.stdout.strip() == "ok", res.stderr
    assert stats_of(stats)[0] == 17


def test_cgroup_sock_create_denies_sockets(kstate, child_cgroup):  # noqa: F811
    kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ProgType.CGROUP_SOCK, ret=0,
                                    attach_type=AttachType.CGROUP_INET_SOCK_CREATE))
    code = ("import socket\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            " print('created')\nexcept PermissionError:\n print('denied')")
    with attach_cgroup(prog, child_cgroup, "sock_create"):
        assert _run_in_cgroup(child_cgroup, code).stdout.strip() == "denied"
    assert _run_in_cgroup(child_cgroup, code).stdout.strip() == "created"
    assert stats_of(kstate.maps["stats"])[0] == 1


def test_cgroup_unknown_hook():
    with pytest.raises(PybpfError, match="unknown cgroup hook"):
        attach_cgroup(0, "/", "nope")


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 0))
    r.settimeout(0.3)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return r, s


def test_socket_filter_drops_and_truncates(kstate):  # noqa: F811
    stats = kstate.map(stats_map())
    r, s = _udp_pair()
    with r, s:
        drop = kstate.load(hits_and_sum(ProgType.SOCKET_FILTER, ret=0))
        with attach_socket_filter(drop, r):
            s.sendto(b"hello world", r.getsockname())
            with pytest.raises(TimeoutError):
                r.recv(100)
        assert stats_of(stats)[0] == 1
        trunc = kstate.load(hits_and_sum(ProgType.SOCKET_FILTER, ret=8 + 4))  # udp hdr + 4
        with attach_socket_filter(trunc, r):
            s.sendto(b"hello world", r.getsockname())
            assert r.recv(100) == b"hell"
        s.sendto(b"hello world", r.getsockname())  # detached: whole datagram
        assert r.recv(100) == b"hello world"


DENY_CASES = {
    "connect4": (ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT,
                 "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                 " s.connect(('127.0.0.1', 9))"),
    "connect6": (ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET6_CONNECT,
                 "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                 " s.connect(('::1', 9))"),
    "sysctl": (ProgType.CGROUP_SYSCTL, AttachType.CGROUP_SYSCTL,
               "open('/proc/sys/kernel/ostype').read()"),
    "device": (ProgType.CGROUP_DEVICE, AttachType.CGROUP_DEVICE, "open('/dev/null').close()"),
}


@pytest.mark.parametrize("hook", sorted(DENY_CASES))
def test_cgroup_hooks_deny_then_allow(kstate, child_cgroup, hook):  # noqa: F811
    ptype, at, action = DENY_CASES[hook]
    code = (f"import socket\ntry:\n {action}\n print('allowed')\n"
            "except PermissionError:\n print('denied')")
    stats = kstate.map(stats_map())
    prog = kstate.load(hits_and_sum(ptype, ret=0, attach_type=at))
    with attach_cgroup(prog, child_cgroup, hook) as link:
        assert link.info()["prog_id"] == prog.id
        res = _run_in_cgroup(child_cgroup, code)
        assert res.stdout.strip() == "denied", res.stderr
    hits, _ = stats_of(stats)
    assert hits >= 1
    res = _run_in_cgroup(child_cgroup, code)
    assert res.stdout.strip() == "allowed", res.stderr
