"""Object loader in the kernel: our clang-built programs load, attach, run a deterministic
workload and give exact values."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import pytest
from bpf.build import build, missing
from workloads.build import build_workload, gcc_missing

from pybpf.errors import PybpfError

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(missing() is not None, reason=f"objects: {missing()}")]

# A child that waits for a line on stdin, calls getppid() N times, sets
# SCHED_RESET_ON_FORK, calls getppid() once more.
CHILD = textwrap.dedent("""
    import os, sys
    n = int(sys.argv[1])
    sys.stdin.readline()
    for _ in range(n):
        os.getppid()
    os.sched_setscheduler(0, os.SCHED_OTHER | os.SCHED_RESET_ON_FORK, os.sched_param(0))
    os.getppid()
""")


@pytest.fixture(scope="module")
def objs() -> dict[str, str]:
    return {n: build(n) for n in ("trace", "xdp", "uprobe", "core_bad", "btfprog",
                                  "verifier_bad")}


def _child(n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(n)], stdin=subprocess.PIPE,
                            text=True)


def test_tracepoint_core_ringbuf_rodata_bss(objs: dict[str, str]) -> None:
    from pybpf.btf import Kind, vmlinux
    from pybpf.elf import load_collection_spec
    from pybpf.elf.globals import kernel_config, kernel_version
    from pybpf.uapi import HELPER_IDS

    n = 5
    child = _child(n)
    try:
        spec = load_collection_spec(objs["trace"])
        spec.rodata["targ_tgid"] = child.pid
        spec.rodata["step"] = 3
        with spec.load() as coll:
            links = coll.attach_all()
            assert len(links) == 1
            rb = coll.ring_buffer("events")
            child.communicate("go\n", timeout=30)
            assert child.returncode == 0
            events = rb.drain()
            rb.close()
            assert [e.seq for e in events] == list(range(1, n + 2))
            assert {(e.pid, e.ppid, e.comm) for e in events} == {
                (child.pid, os.getpid(), os.path.basename(sys.executable)[:15])}
            assert [e.reset_on_fork for e in events] == [0] * n + [1]
            assert coll.maps["per_pid"][child.pid] == n + 1
            bss = spec.bss
            assert (bss["hits"], bss["total"]) == (n + 1, 3 * (n + 1))
            assert bss["kver"] == kernel_version()
            want_cfg = 1 if kernel_config().get("CONFIG_BPF_SYSCALL") == "y" else 0
            assert bss["have_bpf_syscall"] == want_cfg
            assert bss["ringbuf_output_id"] == HELPER_IDS["ringbuf_output"]
            vm = vmlinux()
            assert bss["task_size"] == vm.size(vm.find("task_struct", Kind.STRUCT))
            assert bss["pid_field_size"] == 4
            assert bss["task_btf_id"] == vm.find("task_struct", Kind.STRUCT)
            assert bss["local_bad_id"] == spec.obj_btf.find("task_struct___bad", Kind.STRUCT)
            d = spec.data[".data"]
            assert [d[k] for k in ("missing_enum_exists", "missing_field_exists",
                                   "guarded_value", "missing_type_exists")] == [0, 0, 0, 0]
            # after load: .bss is writable, .rodata is readable but frozen
            bss["hits"] = 100
            assert bss["hits"] == 100
            assert spec.rodata["step"] == 3
            with pytest.raises(PybpfError, match="frozen"):
                spec.rodata["step"] = 4
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_xdp_test_run_map_in_map_legacy(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["xdp"])
    spec.rodata["drop_proto"] = 0x0800
    ipv4 = bytes(12) + struct.pack(">H", 0x0800) + bytes(50)
    ipv6 = bytes(12) + struct.pack(">H", 0x86DD) + bytes(50)
    with spec.load() as coll:
        prog = coll.programs["count_proto"]
        assert prog.test_run(ipv4).retval == 1  # XDP_DROP
        assert prog.test_run(ipv6).retval == 2  # XDP_PASS
        assert prog.test_run(ipv6).retval == 2
        assert dict(coll.maps["by_proto"].items()) == {0x0800: 1, 0x86DD: 2}
        assert coll.maps["legacy_counts"].lookup_raw(bytes(4)) == struct.pack("<Q", 3)
        assert dict(coll.maps["inner_a"].items()) == {0: 3, 1: 0}
        assert dict(coll.maps["inner_b"].items()) == {0: 0, 1: 3}


def test_xdp_kernel_and_vm_agree(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    pkts = [bytes(12) + struct.pack(">H", proto) + bytes(50)
            for proto in (0x0800, 0x88B5, 0x86DD, 0x88B5, 0x0806)]
    results = []
    for backend in ("kernel", "vm"):
        spec = load_collection_spec(objs["xdp"])
        with spec.load(backend) as coll:
            prog = coll.programs["count_proto"]
            rets = [prog.test_run(p).retval for p in pkts]
            results.append((rets, spec.bss["loop_sum"], dict(coll.maps["by_proto"].items()),
                            dict(coll.maps["inner_a"].items()),
                            dict(coll.maps["inner_b"].items()),
                            coll.maps["legacy_counts"].lookup_raw(bytes(4))))
    assert results[0] == results[1]
    assert results[0][0] == [2, 1, 2, 1, 2]
    assert results[0][1] == sum(range(1, 11))  # bpf_loop callback (BPF_PSEUDO_FUNC)
    assert results[0][2] == {0x0800: 1, 0x88B5: 2, 0x86DD: 1, 0x0806: 1}


def test_run_object_program(objs: dict[str, str]) -> None:
    from pybpf.elf.run import run_object_program

    pkt = bytes(12) + struct.pack(">H", 0x88B5) + bytes(50)
    assert run_object_program(objs["xdp"], "xdp", pkt, backend="kernel").retval == 1
    assert run_object_program(objs["xdp"], "xdp", pkt, backend="kernel",
                              variables={"drop_proto": 1}).retval == 2
    assert run_object_program(objs["xdp"], "count_proto", pkt, backend="vm").retval == 1
    with pytest.raises(PybpfError, match="no programs in section 'tc'"):
        run_object_program(objs["xdp"], "tc", pkt)


@pytest.mark.skipif(gcc_missing() is not None, reason=str(gcc_missing()))
def test_uprobe_uretprobe(objs: dict[str, str], tmp_path: object) -> None:
    from pybpf.elf import load_collection_spec

    work = build_workload(str(tmp_path))
    spec = load_collection_spec(objs["uprobe"])
    with spec.load() as coll:
        coll.programs["on_target"].attach(f"{work}:pybpf_target")
        coll.programs["on_target_ret"].attach(f"{work}:pybpf_target")
        perf = coll.perf_buffer("calls_perf")
        subprocess.run([work, "func", "10"], check=True, capture_output=True)
        assert spec.bss.items() == [("calls", 10), ("arg_sum", 45),
                                    ("ret_sum", sum(3 * i + 1 for i in range(10)))]
        recs = sorted(perf.drain(), key=lambda r: r.nth)
        perf.close()
        assert [(r.arg, r.nth, r.tag) for r in recs] == [(i, i + 1, "call") for i in range(10)]


def test_autoload_off(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["uprobe"])
    spec.set_autoload("on_target_ret", False)
    with spec.load() as coll:
        assert sorted(coll.programs) == ["on_target"]
    spec.set_autoload("on_target_optional", True)  # SEC("?uprobe")
    with spec.load() as coll:
        assert sorted(coll.programs) == ["on_target", "on_target_optional"]


def test_unresolvable_core_relocation_fails_precisely(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["core_bad"])
    with pytest.raises(PybpfError) as ei:
        spec.load()
    msg = str(ei.value)
    assert "\n" not in msg
    assert "program 'bad_read' (section tracepoint/syscalls/sys_enter_getppid)" in msg
    assert "field_byte_offset of struct task_struct___bad.no_such_field" in msg
    assert "not found in the kernel's BTF" in msg
    insn = spec.prog_info["bad_read"].poisoned
    assert f"at instruction {next(iter(insn))} (core_bad.bpf.c:" in msg


def test_verifier_error_names_the_c_line(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.kernel.errors import VerifierError

    spec = load_collection_spec(objs["verifier_bad"])
    with pytest.raises(VerifierError) as ei:
        spec.load()
    msg = str(ei.value)
    assert "program 'unchecked' (xdp) rejected by the verifier" in msg
    assert "verifier_bad.bpf.c:14" in msg and "data[20] == 7" in msg


def test_pinning_reuses_maps(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.kernel.pin import ensure_bpffs

    ensure_bpffs()
    pin = f"/sys/fs/bpf/pybpf-elf-test-{os.getpid()}"
    os.makedirs(pin, exist_ok=True)
    ipv6 = bytes(12) + struct.pack(">H", 0x86DD) + bytes(50)
    try:
        for expect in (1, 2):
            spec = load_collection_spec(objs["xdp"])
            with spec.load(pin_dir=pin) as coll:
                coll.programs["count_proto"].test_run(ipv6)
                assert coll.maps["by_proto"][0x86DD] == expect
        assert os.path.exists(f"{pin}/by_proto")
    finally:
        for f in os.listdir(pin):
            os.unlink(os.path.join(pin, f))
        os.rmdir(pin)


def test_cli_load_events_json(objs: dict[str, str]) -> None:
    import json

    n = 3
    child = _child(n)
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "pybpf", "load", objs["trace"], "--attach", "--json",
             "--set", f"targ_tgid={child.pid}", "--events", "events", "--duration", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert cli.stderr is not None
        line = cli.stderr.readline()
        assert "Attached" in line, line + cli.stderr.read()
        child.communicate("go\n", timeout=30)
        import signal
        import time

        time.sleep(0.5)
        cli.send_signal(signal.SIGTERM)
        out, err = cli.communicate(timeout=30)
        assert cli.returncode == 0, err
        rows = [json.loads(x) for x in out.splitlines()]
        events = [r["event"] for r in rows if "event" in r]
        assert [e["seq"] for e in events] == list(range(1, n + 2))
        assert all(e["pid"] == child.pid for e in events)
        final = rows[-1]
        assert final["globals"][".bss"]["hits"] == n + 1
        assert final["maps"]["per_pid"] == [{"key": child.pid, "value": n + 1}]
    finally:
        for p in (child,):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_tp_btf_typeless_ksym_pin_by_name(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.elf.globals import kallsyms
    from pybpf.kernel.pin import ensure_bpffs

    ensure_bpffs()
    root = f"/sys/fs/bpf/pybpf-elf-pinroot-{os.getpid()}"
    os.makedirs(root, exist_ok=True)
    try:
        for round_ in (1, 2):
            spec = load_collection_spec(objs["btfprog"])
            spec.rodata["targ_tgid"] = os.getpid()
            spec.set_autoload("uses_runqueues", False)
            with spec.load(pin_root=root) as coll:
                assert len(coll.attach_all()) == 1
                for _ in range(4):
                    os.getppid()
                assert spec.bss["getppid_calls"] == 4
                assert spec.bss["stext_addr"] == kallsyms({"_stext"})["_stext"]
                # LIBBPF_PIN_BY_NAME: the second load reuses the pinned map
                assert coll.maps["pinned_hits"][0] == 4 * round_
        assert os.listdir(root) == ["pinned_hits"]
    finally:
        for f in os.listdir(root):
            os.unlink(os.path.join(root, f))
        os.rmdir(root)


def test_nothing_leaks(objs: dict[str, str]) -> None:
    """Load + attach + close leaves none of our programs, maps or links behind (ids are
    checked, not counts: other processes may load programs meanwhile)."""
    from pybpf.elf import load_collection_spec
    from pybpf.kernel.info import list_links, list_maps, list_progs

    spec = load_collection_spec(objs["trace"])
    with spec.load() as coll:
        coll.attach_all()
        prog_ids = {p.id for p in coll.programs.values()}
        map_ids = {m.id for m in coll.maps.values()}
        link_ids = {ln.id for ln in list_links() if ln.prog_id in prog_ids}
        assert len(prog_ids) == 1 and len(map_ids) == len(spec.maps) and len(link_ids) == 1
    assert not prog_ids & {p.id for p in list_progs()}
    assert not link_ids & {ln.id for ln in list_links()}
    # a program releases its maps after an RCU grace period: poll briefly for that
    import time

    for _ in range(100):
        if not map_ids & {m.id for m in list_maps()}:
            break
        time.sleep(0.05)
    assert not map_ids & {m.id for m in list_maps()}


def test_cli_load_plain_with_set(objs: dict[str, str]) -> None:
    r = subprocess.run([sys.executable, "-m", "pybpf", "load", objs["xdp"], "--set",
                        "drop_proto=0x0800"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("loaded count_proto (xdp)\n")
    assert "\nby_proto:\n" in out
    assert "\nlegacy_counts:\n  00 00 00 00: 00 00 00 00 00 00 00 00\n" in out  # no BTF: raw
    assert "\ninner_b:\n  0: 0\n  1: 0\n" in out  # typed from BTF
    assert "\n.rodata:\n  drop_proto = 2048\n" in out
    assert "\n.bss:\n  loop_sum = 0\n" in out
    bad = subprocess.run([sys.executable, "-m", "pybpf", "load", objs["xdp"], "--set", "x"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--set 'x': write it as VAR=VALUE" in bad.stderr
