"""struct_ops maps in the object loader: a TCP congestion control from tests/bpf/struct_ops.bpf.c.

Parse and value-building run against this machine's vmlinux BTF without privileges; the
kernel tests register the congestion control (see it in /proc, use it on a loopback TCP
socket, watch the ``init`` program count), attach the ``.struct_ops.link`` one with a
bpf link, and check closing unregisters both. Error cases compile small objects here.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import subprocess
import sys
import threading
from typing import Any

import pytest
from bpf.build import build, missing

from pybpf.errors import PybpfError

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"objects: {missing()}")

AVAILABLE = "/proc/sys/net/ipv4/tcp_available_congestion_control"
ALLOWED = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
BPF_F_LINK = 1 << 13


@pytest.fixture(scope="module")
def obj() -> str:
    return build("struct_ops")


@pytest.fixture(scope="module")
def kern() -> tuple[Any, int, int]:
    """(vmlinux BTF, struct tcp_congestion_ops id, struct bpf_struct_ops_tcp_congestion_ops id)."""
    from pybpf.btf import Kind, vmlinux

    vm = vmlinux()
    return (vm, vm.find("tcp_congestion_ops", Kind.STRUCT),
            vm.find("bpf_struct_ops_tcp_congestion_ops", Kind.STRUCT))


def _kernel_layout(kern: tuple[Any, int, int]) -> tuple[dict[str, tuple[int, int]], int]:
    """member -> (index in the kernel struct, byte offset in the map value); value size."""
    vm, tid, vid = kern
    data = next(m for m in vm[vid].members if vm.resolve(m.type) == tid)
    base = data.bit_offset // 8
    out = {m.name: (i, base + m.bit_offset // 8)
           for i, m in enumerate(vm[tid].members)}
    return out, vm.size(vid)


# -- parse and value building (no privileges) ----------------------------------------
def test_parse_maps_and_programs(obj: str, kern: tuple[Any, int, int]) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.uapi import MapType

    layout, vsize = _kernel_layout(kern)
    spec = load_collection_spec(obj)
    assert set(spec.struct_ops) == {"pybpf_ca", "pybpf_ca_link"}
    for name, flags in (("pybpf_ca", 0), ("pybpf_ca_link", BPF_F_LINK)):
        ms = spec.maps[name]
        assert (ms.type, ms.key_size, ms.value_size, ms.max_entries, ms.flags) == \
            (MapType.STRUCT_OPS, 4, vsize, 1, flags)
        var = spec.struct_ops[name]
        assert (var.type_name, var.kern_type_id, var.value_type_id) == \
            ("tcp_congestion_ops", kern[1], kern[2])
        assert var.link == bool(flags)
    # each program: expected_attach_type = the member's index in the *kernel* struct
    # (the object declares the members in another order)
    want = {"pyca_init": "init", "pyca_ssthresh": "ssthresh",
            "pyca_cong_avoid": "cong_avoid", "pyca_undo_cwnd": "undo_cwnd"}
    for prog, member in want.items():
        ps = spec.programs[prog]
        assert ps.attach_type == layout[member][0]
        assert ps.autoload
    assert layout["init"][0] != 0 and layout["ssthresh"][0] == 0  # the order really differs
    assert not spec.programs["pyca_unused"].autoload  # no variable points at it
    assert spec.struct_ops["pybpf_ca"].members == {p: layout[m][0] for p, m in want.items()}
    assert "pyca_init" not in spec.struct_ops["pybpf_ca_link"].members


def test_value_laid_out_from_kernel_type(obj: str, kern: tuple[Any, int, int]) -> None:
    from pybpf.elf import load_collection_spec

    layout, vsize = _kernel_layout(kern)
    var = load_collection_spec(obj).struct_ops["pybpf_ca"]
    assert len(var.value) == vsize
    name_off, flags_off = layout["name"][1], layout["flags"][1]
    assert var.value[name_off:name_off + 16] == b"pybpf_ca".ljust(16, b"\0")
    assert struct.unpack_from("<I", var.value, flags_off)[0] == 1
    slots = {"init": "pyca_init", "ssthresh": "pyca_ssthresh", "cong_avoid": "pyca_cong_avoid",
             "undo_cwnd": "pyca_undo_cwnd"}
    assert var.func_slots == {layout[m][1]: p for m, p in slots.items()}
    # nothing else is written: every other byte of the template is zero
    rest = bytearray(var.value)
    rest[name_off:name_off + 16] = bytes(16)
    rest[flags_off:flags_off + 4] = bytes(4)
    assert not any(rest)
    fds = {p: 100 + i for i, p in enumerate(slots.values())}
    val = var.value_with(fds)
    for m, p in slots.items():
        assert struct.unpack_from("<Q", val, layout[m][1])[0] == fds[p]
    link_var = load_collection_spec(obj).struct_ops["pybpf_ca_link"]
    assert link_var.value[name_off:name_off + 16] == b"pybpf_ca_lnk".ljust(16, b"\0")
    assert struct.unpack_from("<I", link_var.value, flags_off)[0] == 0
    assert layout["init"][1] not in link_var.func_slots


# -- errors: small objects built here ------------------------------------------------
PRELUDE = """
typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32;
typedef unsigned long long __u64; typedef signed char __s8; typedef short __s16;
typedef int __s32; typedef long long __s64; typedef __u16 __be16; typedef __u32 __be32;
typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
struct sock;
SEC("struct_ops/a") __u32 BPF_PROG(a, struct sock *sk) { return 2; }
SEC("struct_ops/b") __u32 BPF_PROG(b, struct sock *sk) { return 3; }
"""


def _compile(tmp_path: Any, body: str) -> str:
    d = str(tmp_path)
    src, out = os.path.join(d, "t.bpf.c"), os.path.join(d, "t.bpf.o")
    with open(src, "w") as f:
        f.write(PRELUDE + body)
    r = subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-c", src, "-o", out],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def _parse_error(tmp_path: Any, body: str) -> str:
    from pybpf.elf import load_collection_spec

    path = _compile(tmp_path, body)
    with pytest.raises(PybpfError) as ei:
        load_collection_spec(path)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(path)
    return msg


def test_error_unknown_kernel_type(tmp_path: Any) -> None:
    msg = _parse_error(tmp_path, """
        struct pybpf_no_such_ops { __u32 (*f)(struct sock *sk); };
        SEC(".struct_ops") struct pybpf_no_such_ops bad_ops = { .f = (void *)a };
    """)
    assert "struct_ops bad_ops" in msg and "struct pybpf_no_such_ops" in msg


def test_error_member_not_in_kernel(tmp_path: Any) -> None:
    msg = _parse_error(tmp_path, """
        struct tcp_congestion_ops {
            __u32 (*ssthresh)(struct sock *sk);
            __u32 (*pybpf_hook)(struct sock *sk);
            char name[16];
        };
        SEC(".struct_ops") struct tcp_congestion_ops ca1 = {
            .ssthresh = (void *)a, .pybpf_hook = (void *)b, .name = "x" };
    """)
    assert "struct_ops ca1" in msg and "'pybpf_hook'" in msg and "no such member" in msg


@pytest.mark.parametrize("extra", [0, 7])
def test_member_kernel_lacks_zero_skipped_nonzero_refused(tmp_path: Any, extra: int,
                                                          kern: tuple[Any, int, int]) -> None:
    from pybpf.elf import load_collection_spec

    body = f"""
        struct tcp_congestion_ops___mine {{
            __u32 (*ssthresh)(struct sock *sk);
            __u32 pybpf_extra;
            char name[16];
        }};
        SEC(".struct_ops") struct tcp_congestion_ops___mine ca2 = {{
            .ssthresh = (void *)a, .pybpf_extra = {extra}, .name = "y" }};
    """
    if extra:
        msg = _parse_error(tmp_path, body)
        assert "struct_ops ca2" in msg and "'pybpf_extra'" in msg
        return
    spec = load_collection_spec(_compile(tmp_path, body))
    var = spec.struct_ops["ca2"]
    layout, _ = _kernel_layout(kern)
    assert var.type_name == "tcp_congestion_ops"  # the ___flavor suffix is dropped
    assert var.func_slots == {layout["ssthresh"][1]: "a"}
    assert not spec.programs["b"].autoload


def test_error_program_in_wrong_section(tmp_path: Any) -> None:
    msg = _parse_error(tmp_path, """
        SEC("xdp") int xprog(void *ctx) { return 2; }
        struct tcp_congestion_ops { void (*init)(struct sock *sk); char name[16]; };
        SEC(".struct_ops") struct tcp_congestion_ops ca3 = {
            .init = (void *)xprog, .name = "z" };
    """)
    assert "struct_ops ca3" in msg and "'init'" in msg and "'xprog'" in msg
    assert "section xdp" in msg


def test_error_member_size_differs(tmp_path: Any) -> None:
    msg = _parse_error(tmp_path, """
        struct tcp_congestion_ops { __u32 (*ssthresh)(struct sock *sk); char name[8]; };
        SEC(".struct_ops") struct tcp_congestion_ops ca4 = {
            .ssthresh = (void *)a, .name = "w" };
    """)
    assert "struct_ops ca4" in msg and "'name'" in msg and "8 bytes here but 16" in msg


def test_error_program_backs_two_members(tmp_path: Any) -> None:
    msg = _parse_error(tmp_path, """
        struct tcp_congestion_ops {
            __u32 (*ssthresh)(struct sock *sk); __u32 (*undo_cwnd)(struct sock *sk);
            char name[16]; };
        SEC(".struct_ops") struct tcp_congestion_ops ca5 = {
            .ssthresh = (void *)a, .undo_cwnd = (void *)a, .name = "v" };
    """)
    assert "struct_ops ca5" in msg and "'a'" in msg and "one member" in msg


def test_optional_section_not_created(tmp_path: Any) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(_compile(tmp_path, """
        struct tcp_congestion_ops { __u32 (*ssthresh)(struct sock *sk); char name[16]; };
        SEC("?.struct_ops") struct tcp_congestion_ops ca6 = {
            .ssthresh = (void *)a, .name = "u" };
    """))
    var = spec.struct_ops["ca6"]
    assert not var.autocreate and not var.link and var.section == ".struct_ops"
    assert not spec.programs["a"].autoload  # only a map that is not created uses it
    assert spec.maps["ca6"].max_entries == 1


# -- the kernel ----------------------------------------------------------------------
def _cc(path: str) -> list[str]:
    with open(path) as f:
        return f.read().split()


def _load(spec: Any) -> Any:
    from pybpf.kernel.errors import BpfError

    try:
        return spec.load()
    except BpfError as e:
        if e.errno == errno.EPERM:
            pytest.skip(f"the kernel refuses struct_ops here: {e}")
        raise


@pytest.mark.kernel
def test_register_use_and_unregister(obj: str) -> None:
    """As libbpf: loading creates the maps; attaching registers (the update for
    ``.struct_ops``, a bpf link for ``.struct_ops.link``); closing unregisters."""
    from pybpf.elf import load_collection_spec
    from pybpf.elf.struct_ops import StructOpsMap

    assert "pybpf_ca" not in _cc(AVAILABLE)
    spec = load_collection_spec(obj)
    coll = _load(spec)
    try:
        m = coll.maps["pybpf_ca"]
        assert isinstance(m, StructOpsMap) and not m.attached
        assert "pyca_unused" not in coll.programs
        assert "pybpf_ca" not in _cc(AVAILABLE)  # loaded, not registered yet
        links = coll.attach_all()
        assert len(links) == 2 and m.attached  # both maps: struct_ops programs do not attach
        # registered: listed, and flags=TCP_CONG_NON_RESTRICTED made it allowed
        assert "pybpf_ca" in _cc(AVAILABLE) and "pybpf_ca" in _cc(ALLOWED)
        # the kernel keeps the value with program ids where we wrote fds; state INUSE (1)
        val = m.lookup_raw(bytes(4))
        assert val is not None
        assert struct.unpack_from("<II", val, 0) == (1, 1)
        for off, prog in spec.struct_ops["pybpf_ca"].func_slots.items():
            assert struct.unpack_from("<Q", val, off)[0] == coll.programs[prog].id
        with pytest.raises(PybpfError, match="registered already"):
            m.attach()
        _tcp_exchange(b"pybpf_ca")
        assert spec.bss["init_calls"] == 1  # one socket chose it: init ran once
        assert spec.bss["cong_avoid_calls"] > 0  # ACKs of 4 MiB sent at a fixed cwnd
        links[0].close()  # the registration's link: unregisters, the map stays
        assert "pybpf_ca" not in _cc(AVAILABLE) and not m.attached
        with pytest.raises(PybpfError, match="registers once"):  # the kernel's rule
            m.attach()
    finally:
        coll.close()
    assert "pybpf_ca" not in _cc(AVAILABLE) and "pybpf_ca_lnk" not in _cc(AVAILABLE)


@pytest.mark.kernel
def test_link_attach_and_close(obj: str) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.uapi import LinkType

    spec = load_collection_spec(obj)
    coll = _load(spec)
    try:
        lm = coll.maps["pybpf_ca_link"]
        assert lm.flags & BPF_F_LINK and not lm.attached
        link = lm.attach()
        assert link.info()["type"] == LinkType.STRUCT_OPS
        state = lm.lookup_raw(bytes(4))
        # READY (3): the value is written; the link, not the map, holds the registration
        assert state is not None and struct.unpack_from("<I", state, 4)[0] == 3
        assert "pybpf_ca_lnk" in _cc(AVAILABLE) and "pybpf_ca_lnk" not in _cc(ALLOWED)
        assert "pybpf_ca" not in _cc(AVAILABLE)  # the other map was not attached
        link.close()
        assert "pybpf_ca_lnk" not in _cc(AVAILABLE) and not lm.attached
        again = lm.attach()  # the value stays written: a new link re-registers it
        assert "pybpf_ca_lnk" in _cc(AVAILABLE)
    finally:
        coll.close()
    assert again.closed
    assert "pybpf_ca_lnk" not in _cc(AVAILABLE) and "pybpf_ca" not in _cc(AVAILABLE)


def _tcp_exchange(cc: bytes) -> None:
    """A loopback connection whose client uses congestion control ``cc``; 4 MiB sent."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
    c.connect(srv.getsockname())
    a, _ = srv.accept()
    got = [0]

    def drain() -> None:
        while chunk := a.recv(1 << 20):
            got[0] += len(chunk)

    t = threading.Thread(target=drain)
    t.start()
    try:
        assert c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0") == cc
        c.sendall(bytes(4 << 20))
    finally:
        c.close()
        t.join(10)
        a.close()
        srv.close()
    assert got[0] == 4 << 20


@pytest.mark.kernel
def test_duplicate_name_refused_and_gc_unregisters(obj: str) -> None:
    import gc

    from pybpf.elf import load_collection_spec

    coll = _load(load_collection_spec(obj))
    coll.attach_all()
    assert {"pybpf_ca", "pybpf_ca_lnk"} <= set(_cc(AVAILABLE))
    other = load_collection_spec(obj).load()
    try:
        with pytest.raises(PybpfError) as ei:
            other.attach_all()
    finally:
        other.close()
    msg = str(ei.value)
    assert "\n" not in msg and "struct_ops pybpf_ca " in msg and "registered already" in msg
    assert _cc(AVAILABLE).count("pybpf_ca") == 1  # the first one is untouched
    del coll
    gc.collect()  # dropped without close(): the finalizers still unregister
    assert "pybpf_ca" not in _cc(AVAILABLE) and "pybpf_ca_lnk" not in _cc(AVAILABLE)


@pytest.mark.kernel
def test_load_command_reports_struct_ops(obj: str) -> None:
    """`pybpf load --json` loads without registering (as libbpf: attaching registers);
    `--attach` registers both maps while it runs; nothing is left behind."""
    r = subprocess.run([sys.executable, "-m", "pybpf", "load", obj, "--json"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode and "refuses" in r.stderr:
        pytest.skip(f"the kernel refuses struct_ops here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    ops = json.loads(r.stdout.splitlines()[-1])["struct_ops"]
    assert ops == {n: {"type": "tcp_congestion_ops", "registered": False}
                   for n in ("pybpf_ca", "pybpf_ca_link")}
    p = subprocess.Popen([sys.executable, "-m", "pybpf", "load", obj, "--json", "--attach"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        line = p.stderr.readline()
        assert "Attached" in line, line
        assert {"pybpf_ca", "pybpf_ca_lnk"} <= set(_cc(AVAILABLE))
        p.send_signal(2)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ops = json.loads(out.splitlines()[-1])["struct_ops"]
    assert ops == {n: {"type": "tcp_congestion_ops", "registered": True}
                   for n in ("pybpf_ca", "pybpf_ca_link")}
    assert "pybpf_ca" not in _cc(AVAILABLE) and "pybpf_ca_lnk" not in _cc(AVAILABLE)
