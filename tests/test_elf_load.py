"""Object loader without the kernel: SEC() table, spec building, CO-RE against vmlinux BTF,
BTF fix-ups, malformed objects (one clear line, no traceback)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest
from bpf.build import build, missing

from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import BadInput, PybpfError
from pybpf.uapi import AttachType, MapType, ProgType

needs_clang = pytest.mark.skipif(missing() is not None, reason=f"objects: {missing()}")


@pytest.fixture(scope="module")
def objs() -> dict[str, str]:
    return {n: build(n) for n in ("trace", "xdp", "uprobe", "core_bad", "opensnoop", "btfprog")}


# -- SEC() table -----------------------------------------------------------------------
@pytest.mark.parametrize("sec,ptype,atype,target", [
    ("tracepoint/syscalls/sys_enter_openat", ProgType.TRACEPOINT, None,
     "syscalls/sys_enter_openat"),
    ("tp/sched/sched_switch", ProgType.TRACEPOINT, None, "sched/sched_switch"),
    ("raw_tp/sys_enter", ProgType.RAW_TRACEPOINT, None, "sys_enter"),
    ("raw_tracepoint/sched_switch", ProgType.RAW_TRACEPOINT, None, "sched_switch"),
    ("tp_btf/sched_switch", ProgType.TRACING, AttachType.TRACE_RAW_TP, "sched_switch"),
    ("fentry/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY, "do_unlinkat"),
    ("fexit/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT, "do_unlinkat"),
    ("fmod_ret/security_x", ProgType.TRACING, AttachType.MODIFY_RETURN, "security_x"),
    ("lsm/file_open", ProgType.LSM, AttachType.LSM_MAC, "file_open"),
    ("kprobe/do_sys_openat2", ProgType.KPROBE, None, "do_sys_openat2"),
    ("kretprobe/do_sys_openat2", ProgType.KPROBE, None, "do_sys_openat2"),
    ("uprobe//bin/bash:readline", ProgType.KPROBE, None, "/bin/bash:readline"),
    ("uretprobe//usr/lib/libc.so.6:malloc", ProgType.KPROBE, None, "/usr/lib/libc.so.6:malloc"),
    ("usdt//usr/bin/python3:python:function__entry", ProgType.KPROBE, None,
     "/usr/bin/python3:python:function__entry"),
    ("perf_event", ProgType.PERF_EVENT, None, ""),
    ("xdp", ProgType.XDP, AttachType.XDP, ""),
    ("xdp.frags", ProgType.XDP, AttachType.XDP, ""),
    ("tc", ProgType.SCHED_CLS, None, ""),
    ("tcx/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, ""),
    ("tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, ""),
    ("socket", ProgType.SOCKET_FILTER, None, ""),
    ("cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, ""),
    ("cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, ""),
    ("cgroup/connect4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, ""),
    ("cgroup/sendmsg6", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP6_SENDMSG, ""),
    ("cgroup/sock_create", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, ""),
    ("cgroup/sysctl", ProgType.CGROUP_SYSCTL, AttachType.CGROUP_SYSCTL, ""),
    ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER, "task"),
    ("struct_ops/tcp_init", ProgType.STRUCT_OPS, None, "tcp_init"),
])
def test_section_table(sec: str, ptype: ProgType, atype: AttachType | None,
                       target: str) -> None:
    from pybpf.elf.sections import attach_target, find_section_def

    d = find_section_def(sec)
    assert d is not None
    assert (d.prog_type, d.attach_type, attach_target(d, sec)) == (ptype, atype, target)


def test_section_table_flags_and_misses() -> None:
    from pybpf.elf.sections import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, find_section_def

    assert find_section_def("xdp.frags").load_flags() == BPF_F_XDP_HAS_FRAGS  # type: ignore[union-attr]
    assert find_section_def("lsm.s/bprm_check").load_flags() == BPF_F_SLEEPABLE  # type: ignore[union-attr]
    assert find_section_def("xdp").load_flags() == 0  # type: ignore[union-attr]
    for bad in ("xdpfoo", "tracepointx/a/b", "nonsense", "socketx"):
        assert find_section_def(bad) is None


# -- spec building ---------------------------------------------------------------------
@needs_clang
def test_trace_spec(objs: dict[str, str]) -> None:
    from pybpf.btf import Btf, Kind
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["trace"])
    p = spec.programs["on_getppid"]
    assert (p.type, p.section, p.attach_to, p.license) == (
        ProgType.TRACEPOINT, "tracepoint/syscalls/sys_enter_getppid",
        "syscalls/sys_enter_getppid", "GPL")
    kinds = {(r.name, r.kind) for r in p.map_refs}
    assert ("per_pid", PseudoSrc.MAP_FD) in kinds and ("events", PseudoSrc.MAP_FD) in kinds
    assert (".rodata", PseudoSrc.MAP_VALUE) in kinds and (".kconfig", PseudoSrc.MAP_VALUE) in kinds
    # rodata vars: targ_tgid at 0, step at 4 -> the two .rodata refs
    ro_offsets = sorted(r.offset for r in p.map_refs if r.name == ".rodata")
    assert ro_offsets == [0, 4]
    # the subprogram bump() is appended once and called with a correct relative offset
    assert len(p.func_info) == 2
    sub_start = p.func_info[1][0]
    calls = [i for i, ins in enumerate(p.insns) if ins.opcode == 0x85 and ins.src == 1]
    assert calls and all(i + 1 + p.insns[i].imm == sub_start for i in calls)
    assert p.line_info and p.source_map and p.source_map[0].file == "trace.bpf.c"
    # maps
    m = spec.maps
    assert (m["per_pid"].type, m["per_pid"].key_size, m["per_pid"].value_size,
            m["per_pid"].max_entries) == (MapType.HASH, 4, 8, 128)
    assert (m["events"].type, m["events"].max_entries) == (MapType.RINGBUF, 64 * 1024)
    assert m[".rodata"].freeze and m[".rodata"].flags & (1 << 7)
    # .bss: hits, total (u64) + kver, have_bpf_syscall, ringbuf_output_id, task_size,
    # pid_field_size (u32); .data: the four u32 initialised to 7
    assert not m[".bss"].freeze and m[".bss"].value_size == 2 * 8 + 7 * 4
    assert spec.data[".data"].items() == [("missing_enum_exists", 7), ("missing_field_exists", 7),
                                          ("guarded_value", 7), ("missing_type_exists", 7)]
    # rodata set and read back by name
    assert spec.rodata["step"] == 1
    spec.rodata["targ_tgid"] = 4321
    spec.rodata["step"] = 3
    assert (spec.rodata["targ_tgid"], spec.rodata["step"]) == (4321, 3)
    assert m[".rodata"].contents[0][1][:8] == struct.pack("<II", 4321, 3)
    with pytest.raises(PybpfError, match="no variable 'nope'"):
        spec.rodata["nope"] = 1
    # the guarded read of a missing field poisoned exactly one instruction
    poisoned = spec.prog_info["on_getppid"].poisoned
    assert len(poisoned) == 1
    (idx, msg), = poisoned.items()
    assert p.insns[idx].opcode == 0x85 and p.insns[idx].imm == 0xBAD2310
    assert "task_struct___bad.no_such_field" in msg
    # BTF fix-up: DATASEC sizes and var offsets now match the ELF sections
    fixed = Btf.from_bytes(spec.btf)
    bss = fixed[fixed.find(".bss", Kind.DATASEC)]
    assert bss.size == m[".bss"].value_size  # type: ignore[attr-defined]
    offs = [v.offset for v in bss.vars]  # type: ignore[attr-defined]
    assert offs == sorted(offs) and offs[0] == 0 and len(set(offs)) == len(offs)
    assert spec.bss.vars["total"].offset in offs


@needs_clang
def test_xdp_spec_maps(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["xdp"])
    m = spec.maps
    assert (m["legacy_counts"].type, m["legacy_counts"].key_size, m["legacy_counts"].value_size,
            m["legacy_counts"].max_entries) == (MapType.ARRAY, 4, 8, 4)
    assert (m["by_proto"].key_size, m["by_proto"].value_size) == (2, 8)
    outer = m["outer"]
    assert outer.type == MapType.ARRAY_OF_MAPS and outer.inner is not None
    assert (outer.inner.type, outer.inner.max_entries) == (MapType.ARRAY, 2)
    assert spec.map_defs["outer"].init_slots == {0: "inner_a", 2: "inner_b"}
    assert spec.rodata["drop_proto"] == 0x88B5
    p = spec.programs["count_proto"]
    assert p.attach_type == AttachType.XDP
    # the bpf_loop callback is appended as a subprogram and referenced by BPF_PSEUDO_FUNC
    (cb,) = [i for i, ins in enumerate(p.insns) if ins.opcode == 0x18 and ins.src == PseudoSrc.FUNC]
    assert len(p.func_info) == 2 and cb + 1 + p.insns[cb].imm == p.func_info[1][0]


@needs_clang
def test_optional_section(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["uprobe"])
    opt = spec.programs["on_target_optional"]
    assert (opt.section, opt.type, opt.autoload) == ("uprobe", ProgType.KPROBE, False)
    assert spec.programs["on_target"].autoload is True


@needs_clang
def test_resize_type_override_autoload(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec

    spec = load_collection_spec(objs["trace"])
    spec.resize_map("per_pid", 4096)
    spec.set_map_type("per_pid", "lru_hash")
    assert (spec.maps["per_pid"].max_entries, spec.maps["per_pid"].type) == (4096,
                                                                              MapType.LRU_HASH)
    spec.set_autoload("on_getppid", False)
    assert spec.programs["on_getppid"].autoload is False
    with pytest.raises(PybpfError, match="no map 'nope'"):
        spec.resize_map("nope", 1)


@needs_clang
def test_core_bitfield_and_enum_against_vmlinux(objs: dict[str, str]) -> None:
    from pybpf.btf import Kind, vmlinux
    from pybpf.btf.ext import CoreRelo, CoreReloKind
    from pybpf.elf.core import field_value, kernel_candidates, match_field, parse_spec, resolve

    vm = vmlinux()
    tid = vm.find("task_struct", Kind.STRUCT)
    f = vm.member(tid, "sched_reset_on_fork")
    # the kernel BTF as the local BTF: a spec "0:<idx>" on task_struct itself
    idx = next(i for i, m in enumerate(vm[tid].members)  # type: ignore[attr-defined]
               if m.name == "sched_reset_on_fork")
    spec = parse_spec(vm, tid, f"0:{idx}", CoreReloKind.FIELD_LSHIFT_U64, "t")
    res = match_field(spec, vm, tid)
    assert res is not None and res.bitfield == 1 and res.bit_off == f.bit_offset
    byte_off, sz = field_value(vm, res, CoreReloKind.FIELD_BYTE_OFFSET)
    assert sz == 4 and byte_off == f.bit_offset // 32 * 4
    lshift, _ = field_value(vm, res, CoreReloKind.FIELD_LSHIFT_U64)
    rshift, _ = field_value(vm, res, CoreReloKind.FIELD_RSHIFT_U64)
    # reading the u32 at byte_off, <<lshift then >>rshift must isolate exactly that bit
    word = 1 << (f.bit_offset - byte_off * 8)
    assert ((word << lshift) & (2**64 - 1)) >> rshift == 1
    assert rshift == 63
    # enum value: local flavor with a wrong value resolves to the kernel's value
    from pybpf.btf import Btf
    from pybpf.btf.ext import parse_btf_ext
    from pybpf.elf.reader import read_elf

    data = open(objs["trace"], "rb").read()
    elf = read_elf(data)
    obtf = Btf.from_bytes(elf.section(".BTF").data)  # type: ignore[union-attr]
    ext = parse_btf_ext(elf.section(".BTF.ext").data, obtf)  # type: ignore[union-attr]
    enum_relos = [r for relos in ext.core_relos.values() for r in relos
                  if r.kind == CoreReloKind.ENUMVAL_VALUE]
    assert len(enum_relos) == 1
    r = resolve(obtf, enum_relos[0], "t", kernel_candidates)
    from pybpf.uapi import HELPER_IDS

    assert r.value == HELPER_IDS["ringbuf_output"] and not r.poison
    missing_field = CoreRelo(0, obtf.find("task_struct___bad", Kind.STRUCT), "0:0",
                             CoreReloKind.FIELD_BYTE_OFFSET)
    r2 = resolve(obtf, missing_field, "t", kernel_candidates)
    assert "not found" in r2.poison and "task_struct___bad.no_such_field" in r2.poison
    exists = CoreRelo(0, missing_field.type_id, "0:0", CoreReloKind.FIELD_EXISTS)
    assert resolve(obtf, exists, "t", kernel_candidates).value == 0


@needs_clang
def test_ksyms_and_btf_attach(objs: dict[str, str]) -> None:
    from pybpf.btf import Btf, Kind, vmlinux
    from pybpf.elf import load_collection_spec
    from pybpf.elf.object import attach_btf_name

    spec = load_collection_spec(objs["btfprog"])
    p = spec.programs["uses_runqueues"]
    assert (p.type, p.attach_type, p.attach_to) == (ProgType.TRACING, AttachType.TRACE_RAW_TP,
                                                    "sys_enter")
    assert attach_btf_name(spec.prog_info[p.name], p.attach_to) == ("btf_trace_sys_enter",
                                                                    "TYPEDEF")
    loads = [i for i in p.insns if i.opcode == 0x18 and i.src == PseudoSrc.BTF_ID]
    assert [i.imm for i in loads] == [vmlinux().find("runqueues", Kind.VAR)]
    # the kernel-facing BTF, as libbpf leaves it: .ksyms lists ints 4 bytes apart, its
    # extern VARs are global and typed int
    fixed = Btf.from_bytes(spec.btf)
    sec = fixed[fixed.find(".ksyms", Kind.DATASEC)]
    int_id = fixed.find("int", Kind.INT)
    assert [(vs.offset, vs.size) for vs in sec.vars] == [(0, 4), (4, 4)]  # type: ignore[attr-defined]
    assert sec.size == 8  # type: ignore[attr-defined]
    for name in ("_stext", "runqueues"):
        v = fixed[fixed.find(name, Kind.VAR)]
        assert v.linkage == 1 and v.type == int_id  # type: ignore[attr-defined]
    assert spec.map_defs["pinned_hits"].pinning == 1


def test_ksyms_kfunc_becomes_dummy_var() -> None:
    """A kfunc in .ksyms is replaced by one appended ``dummy_ksym`` int VAR, whose name
    also fills the kfunc's unnamed parameters (libbpf's add_dummy_ksym_var)."""
    from pybpf.btf import Btf, BtfBuilder, Kind
    from pybpf.elf.btf_fixup import fixup_btf

    b = BtfBuilder()
    i32 = b.int_type("int", 4, signed=True)
    u64 = b.int_type("unsigned long", 8)
    proto = b.func_proto(i32, [u64, ("named", u64)])
    kfunc = b.func("bpf_some_kfunc", proto, linkage=2)  # extern
    var = b.var("some_ksym", u64, linkage=2)
    b.datasec(".ksyms", [(kfunc, 0, 0), (var, 0, 0)], size=0)
    raw = b.encode()
    fixed = Btf.from_bytes(fixup_btf(raw, "t.o", {}, {}, {}, 0))
    assert len(fixed) == len(Btf.from_bytes(raw)) + 1
    dummy = fixed.find("dummy_ksym", Kind.VAR)
    assert dummy == len(fixed) - 1
    dv = fixed[dummy]
    assert (dv.type, dv.linkage) == (i32, 1)  # type: ignore[attr-defined]
    sec = fixed[fixed.find(".ksyms", Kind.DATASEC)]
    assert [(vs.type, vs.offset, vs.size) for vs in sec.vars] == [  # type: ignore[attr-defined]
        (dummy, 0, 4), (var, 4, 4)]
    assert [p.name for p in fixed[proto].params] == ["dummy_ksym", "named"]  # type: ignore[attr-defined]
    assert fixed[kfunc].linkage == 1 and fixed[var].type == i32  # type: ignore[attr-defined]


def test_core_type_relocations_synthetic() -> None:
    """TYPE_MATCHES / TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET against vmlinux, with a local
    BTF built here (clang 14 cannot emit TYPE_MATCHES)."""
    from pybpf.btf import Btf, BtfBuilder, Kind, vmlinux
    from pybpf.btf.ext import CoreRelo
    from pybpf.btf.ext import CoreReloKind as K
    from pybpf.elf.core import kernel_candidates, resolve

    b = BtfBuilder()
    fwd = b.fwd("list_head")
    p = b.ptr(fwd)
    i32 = b.int_type("int", 4, signed=True)
    good = b.struct("list_head___good", 16, [("next", p, 0), ("prev", p, 64)])
    bad = b.struct("list_head___bad", 4, [("next", i32, 0)])
    gone = b.struct("pybpf_no_such_struct___x", 4, [("a", i32, 0)])
    local = Btf.from_bytes(b.encode())
    vm = vmlinux()
    lh = vm.find("list_head", Kind.STRUCT)

    def val(tid: int, kind: K) -> int:
        r = resolve(local, CoreRelo(0, tid, "0", kind), "t", kernel_candidates)
        assert not r.poison
        return r.value

    assert (val(good, K.TYPE_MATCHES), val(bad, K.TYPE_MATCHES)) == (1, 0)
    assert (val(good, K.TYPE_EXISTS), val(gone, K.TYPE_EXISTS)) == (1, 0)
    assert val(good, K.TYPE_SIZE) == vm.size(lh) == 16
    assert val(good, K.TYPE_ID_TARGET) == lh
    assert val(bad, K.TYPE_ID_LOCAL) == bad
    r = resolve(local, CoreRelo(0, gone, "0", K.TYPE_SIZE), "t", kernel_candidates)
    assert "pybpf_no_such_struct___x" in r.poison


@needs_clang
def test_kconfig_values(objs: dict[str, str]) -> None:
    from pybpf.elf import load_collection_spec
    from pybpf.elf.globals import kernel_version

    spec = load_collection_spec(objs["trace"], kconfig={"CONFIG_BPF_SYSCALL": "y",
                                                        "CONFIG_PYBPF_NOT_A_REAL_OPTION": "0x10"})
    kc = spec.maps[".kconfig"]
    # libbpf's layout: larger alignment first, then smaller size, then name:
    # int CONFIG_PYBPF_NOT_A_REAL_OPTION @0, int LINUX_KERNEL_VERSION @4,
    # bool CONFIG_BPF_SYSCALL @8
    assert kc.freeze and kc.value_size == 9 and kc.flags == (1 << 7) | (1 << 10)
    assert kc.contents[0][1] == struct.pack("<IIB", 16, kernel_version(), 1)
    spec = load_collection_spec(objs["trace"], kconfig={"CONFIG_BPF_SYSCALL": "m"})
    assert spec.maps[".kconfig"].contents[0][1][:4] == bytes(4)  # weak, unset: 0
    assert spec.maps[".kconfig"].contents[0][1][8] == 2


# -- malformed objects -----------------------------------------------------------------
def _load_bytes(data: bytes) -> None:
    from pybpf.elf import load_object_bytes

    load_object_bytes(data, "bad.o")


def test_not_elf_and_truncated() -> None:
    with pytest.raises(BadInput, match="bad.o: not an ELF"):
        _load_bytes(b"hello world" * 10)
    with pytest.raises(BadInput, match="bad.o: not an ELF"):
        _load_bytes(b"\x7fELF\x02\x01")


@needs_clang
def test_malformed_objects(objs: dict[str, str]) -> None:
    data = open(objs["xdp"], "rb").read()
    with pytest.raises(BadInput, match="truncated"):
        _load_bytes(data[: len(data) // 2])
    wrong = bytearray(data)
    struct.pack_into("<H", wrong, 18, 62)  # EM_X86_64
    with pytest.raises(BadInput, match="ELF machine is 62, not BPF"):
        _load_bytes(bytes(wrong))
    # bad section index in a symbol
    from pybpf.elf.reader import read_elf

    elf = read_elf(data)
    symtab = next(s for s in elf.sections if s.type == 2)
    sym = next(s for s in elf.symbols if s.name == "by_proto")
    bad = bytearray(data)
    struct.pack_into("<H", bad, symtab.offset + sym.index * 24 + 6, 0x7777)
    with pytest.raises(BadInput, match="bad section index 30583"):
        _load_bytes(bytes(bad))
    # relocation offset past the code section
    rel = next(s for s in elf.sections if s.name == ".relxdp")
    bad = bytearray(data)
    struct.pack_into("<Q", bad, rel.offset, 0x100000)
    with pytest.raises(BadInput, match=r"section xdp: relocation offset 0x100000 is out of range"):
        _load_bytes(bytes(bad))
    # no .BTF, but BTF-defined maps
    nobtf = bytearray(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    btf_sec = elf.section(".BTF")
    assert btf_sec is not None
    struct.pack_into("<I", nobtf, shoff + btf_sec.index * 64, 0)  # sh_name -> ""
    with pytest.raises(BadInput, match="BTF-defined maps need the object's .BTF"):
        _load_bytes(bytes(nobtf))


@needs_clang
def test_cli_malformed_is_one_line(objs: dict[str, str], tmp_path: object) -> None:
    data = open(objs["xdp"], "rb").read()
    bad = os.path.join(str(tmp_path), "bad.o")
    with open(bad, "wb") as f:
        f.write(data[:200])
    r = subprocess.run([sys.executable, "-m", "pybpf", "load", bad], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "truncated" in r.stderr
    assert "Traceback" not in r.stderr


@needs_clang
def test_disasm_reads_objects(objs: dict[str, str]) -> None:
    r = subprocess.run([sys.executable, "-m", "pybpf", "disasm", objs["uprobe"]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "on_target (uprobe)" in r.stdout and "on_target_ret (uretprobe)" in r.stdout


@needs_clang
def test_corrupt_objects_fail_with_one_line(objs: dict[str, str]) -> None:
    """Random byte flips and truncations in the parts the loader reads: every failure is a
    PybpfError with a one-line message, never another exception."""
    import random

    from pybpf.elf import load_object_bytes
    from pybpf.elf.reader import read_elf

    data = open(objs["trace"], "rb").read()
    elf = read_elf(data)
    regions = [(s.offset, s.size) for s in elf.sections
               if s.size and not s.name.startswith((".debug", ".rel.debug", ".rel.BTF", ".llvm"))]
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    regions += [(shoff, len(data) - shoff), (0, 64)]
    rng = random.Random(7)
    failures = 0
    for n in range(150):
        d = bytearray(data)
        off, size = regions[rng.randrange(len(regions))]
        for _ in range(rng.randrange(1, 4)):
            d[min(off + rng.randrange(size), len(d) - 1)] = rng.randrange(256)
        if n % 7 == 0:
            d = d[:rng.randrange(len(d))]
        try:
            load_object_bytes(bytes(d), "fuzz.o")
        except PybpfError as e:
            failures += 1
            assert "\n" not in str(e) and str(e).startswith("fuzz.o")
    assert failures > 15  # the mutations do hit what the loader checks
