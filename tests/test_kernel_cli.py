"""`pybpf prog/map/link/feature` agree with bpftool on the same kernel objects."""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import shutil
import socket
import struct
import subprocess

import pytest

from pybpf.asm.insn import Insn, lddw
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import MapRef, MapSpec, ProgramSpec
from pybpf.uapi import MapType, ProgType

pytestmark = pytest.mark.kernel

BPFTOOL = shutil.which("bpftool") or "/usr/sbin/bpftool"
needs_bpftool = pytest.mark.skipif(not shutil.which("bpftool") and not
                                   __import__("os").path.exists(BPFTOOL),
                                   reason="bpftool is not installed")


def pybpf(*argv: str) -> tuple[int, str]:
    from pybpf.cli.main import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(list(argv))
    return rc, buf.getvalue()


def bpftool(*argv: str) -> str:
    # bpftool's map dump exits non-zero (after printing) when a type cannot be iterated
    check = "dump" not in argv
    return subprocess.run([BPFTOOL, *argv], check=check, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def objs():  # type: ignore[no-untyped-def]
    """A hash map, a per-CPU array, a frozen array and an XDP program using the hash map."""
    from pybpf.kernel import KernelMap, load_map, load_program

    h = KernelMap.create(MapSpec("cli_hash", MapType.HASH, 4, 8, 64)).typed("u32", "u64")
    for i in range(5):
        h[i] = 1000 + i
    pc = KernelMap.create(MapSpec("cli_pcpu", MapType.PERCPU_ARRAY, 4, 4, 3)).typed("u32", "u32")
    pc[1] = 7
    big = KernelMap.create(MapSpec("cli_big", MapType.HASH, 20, 24, 4))
    big.update_raw(bytes(range(20)), bytes(range(100, 124)))
    frozen = load_map(MapSpec("cli_frozen", MapType.ARRAY, 4, 4, 1, freeze=True))
    special = {
        "ringbuf": KernelMap.create(MapSpec("cli_rb", MapType.RINGBUF, 0, 0, 4096)),
        "queue": KernelMap.create(MapSpec("cli_q", MapType.QUEUE, 0, 4, 4)),
        "perf": KernelMap.create(MapSpec("cli_pea", MapType.PERF_EVENT_ARRAY, 4, 4, 2)),
        "lpm": KernelMap.create(MapSpec("cli_lpm", MapType.LPM_TRIE, 8, 4, 4)),
    }
    special["queue"].push(b"abcd")
    special["lpm"].update_raw(b"\x10\0\0\0\x0a\x01\0\0", b"\x07\0\0\0")
    a, b = lddw(1, 0, PseudoSrc.MAP_FD)
    insns = [Insn(0xB7, 0, 0, 0, 0), Insn(0x63, 10, 0, -4, 0), Insn(0xBF, 2, 10, 0, 0),
             Insn(0x07, 2, 0, 0, -4), a, b, Insn(0x85, 0, 0, 0, 1), Insn(0xB7, 0, 0, 0, 2),
             Insn(0x95)]
    p = load_program(ProgramSpec("cli_xdp", ProgType.XDP, insns, map_refs=[MapRef(4, "h")]),
                     {"h": h})
    yield {"hash": h, "pcpu": pc, "big": big, "frozen": frozen, "prog": p, **special}
    for o in (p, h, pc, big, frozen, *special.values()):
        o.close()


@needs_bpftool
def test_prog_show_matches_bpftool(objs) -> None:  # type: ignore[no-untyped-def]
    pid = str(objs["prog"].id)
    rc, out = pybpf("prog", "show", "id", pid, "--json")
    assert rc == 0
    ours, theirs = json.loads(out), json.loads(bpftool("--json", "prog", "show", "id", pid))
    for k in ("loaded_at",):  # wall-clock seconds derived from two clocks: may differ by 1
        assert abs(ours.pop(k) - theirs.pop(k)) <= 1
    assert ours == theirs
    assert ours["name"] == "cli_xdp" and ours["type"] == "xdp"
    assert ours["map_ids"] == [objs["hash"].id]
    rc, text = pybpf("prog", "show", pid)
    ref = bpftool("prog", "show", "id", pid)
    assert text.splitlines()[0] == ref.splitlines()[0]
    assert text.splitlines()[2] == ref.splitlines()[2]


@needs_bpftool
def test_prog_list_contains_same_ids(objs) -> None:  # type: ignore[no-untyped-def]
    rc, out = pybpf("prog", "list", "--json")
    ours = {p["id"]: (p.get("name"), p["type"]) for p in json.loads(out)}
    theirs = {p["id"]: (p.get("name"), p["type"])
              for p in json.loads(bpftool("--json", "prog", "list"))}
    pid = objs["prog"].id
    assert ours[pid] == theirs[pid] == ("cli_xdp", "xdp")
    common = set(ours) & set(theirs)  # other processes may load/unload meanwhile
    assert all(ours[i] == theirs[i] for i in common)


@needs_bpftool
def test_prog_dump_xlated_matches_bpftool(objs) -> None:  # type: ignore[no-untyped-def]
    pid = str(objs["prog"].id)
    for extra in ((), ("opcodes",)):
        rc, text = pybpf("prog", "dump", "xlated", "id", pid, *extra)
        assert rc == 0
        assert text == bpftool("prog", "dump", "xlated", "id", pid, *extra)
        rc, js = pybpf("prog", "dump", "xlated", "id", pid, *extra, "--json")
        assert json.loads(js) == json.loads(bpftool("--json", "prog", "dump", "xlated", "id", pid,
                                                    *extra))
    assert f"r1 = map[id:{objs['hash'].id}]" in text


@needs_bpftool
@pytest.mark.parametrize("which", ["hash", "pcpu", "big", "frozen", "ringbuf", "queue", "perf",
                                   "lpm"])
def test_map_show_and_dump_match_bpftool(objs, which: str) -> None:  # type: ignore[no-untyped-def]
    mid = str(objs[which].id)
    for cmd in (("show", "id", mid), ("dump", "id", mid)):
        rc, text = pybpf("map", *cmd)
        assert rc == 0
        assert text == bpftool("map", *cmd)
        rc, js = pybpf("map", *cmd, "--json")
        assert json.loads(js) == json.loads(bpftool("--json", "map", *cmd))
        assert pybpf("map", *cmd, "--pretty")[1] == bpftool("--pretty", "map", *cmd)
    if which == "frozen":
        assert json.loads(pybpf("map", "show", mid, "--json")[1])["frozen"] == 1
    if which == "hash":
        rows = json.loads(pybpf("map", "dump", mid, "--json")[1])
        assert len(rows) == 5
        vals = {int.from_bytes(bytes(int(x, 16) for x in r["key"]), "little"):
                int.from_bytes(bytes(int(x, 16) for x in r["value"]), "little") for r in rows}
        assert vals == {i: 1000 + i for i in range(5)}


@needs_bpftool
def test_link_list_matches_bpftool() -> None:
    from pybpf.kernel import load_program
    from pybpf.kernel.syscall import LinkCreateAttr, RawTracepointAttr, addr_of, bpf, close_fd
    from pybpf.uapi import AttachType, Cmd

    p = load_program(ProgramSpec("cli_xdpl", ProgType.XDP, [Insn(0xB7, 0, 0, 0, 2), Insn(0x95)]))
    p2 = load_program(ProgramSpec("cli_rtp", ProgType.RAW_TRACEPOINT,
                                  [Insn(0xB7, 0, 0, 0, 0), Insn(0x95)]))
    name = ctypes.create_string_buffer(b"sched_switch")
    fds = []
    try:
        fds.append(bpf(Cmd.LINK_CREATE, LinkCreateAttr(
            prog_fd=p.fd, target_fd=socket.if_nametoindex("lo"), attach_type=AttachType.XDP)))
        fds.append(bpf(Cmd.RAW_TRACEPOINT_OPEN,
                       RawTracepointAttr(name=addr_of(name), prog_fd=p2.fd)))
        rc, out = pybpf("link", "list", "--json")
        ours = {d["id"]: d for d in json.loads(out)}
        theirs = {d["id"]: d for d in json.loads(bpftool("--json", "link", "list"))}
        mine = [d for d in ours.values() if d["prog_id"] in (p.id, p2.id)]
        assert len(mine) == 2
        for d in mine:
            assert d == theirs[d["id"]]
        assert {d["type"] for d in mine} == {"xdp", "raw_tracepoint"}
        assert [d["tp_name"] for d in mine if d["type"] == "raw_tracepoint"] == ["sched_switch"]
        lid = str(mine[1]["id"])
        assert pybpf("link", "show", lid)[1] == bpftool("link", "show", "id", lid)
    finally:
        for fd in fds:
            close_fd(fd)
        p.close()
        p2.close()


def test_unknown_id_is_one_line_error(capsys) -> None:  # type: ignore[no-untyped-def]
    from pybpf.cli.main import main
    from pybpf.kernel.info import ids

    missing = max([0, *ids("prog")]) + 100000
    assert main(["prog", "show", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"prog id {missing}" in err and "no object" in err


def test_feature_probe_json() -> None:
    rc, out = pybpf("feature", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["program_types"]["have_xdp_prog_type"] is True
    assert d["map_types"]["have_hash_map_type"] is True
    assert d["map_types"]["have_ringbuf_map_type"] is True
    xdp = d["helpers"]["xdp_available_helpers"]
    assert "bpf_map_lookup_elem" in xdp and "bpf_xdp_adjust_head" in xdp
    # helpers specific to one family of program types are refused to the others
    assert "bpf_xdp_adjust_head" not in d["helpers"]["socket_filter_available_helpers"]
    assert "bpf_skb_store_bytes" in d["helpers"]["sched_cls_available_helpers"]
    assert "bpf_skb_store_bytes" not in d["helpers"]["kprobe_available_helpers"]
    assert "bpf_get_stackid" in d["helpers"]["kprobe_available_helpers"]


def test_features_api_and_cache() -> None:
    from pybpf.kernel import features

    assert features.have_map_type(MapType.LPM_TRIE)
    assert features.missing_map_type(MapType.HASH) is None
    assert features.have_helper(ProgType.XDP, "xdp_adjust_tail")
    assert not features.have_helper(ProgType.SOCKET_FILTER, "xdp_adjust_tail")
    features._cached.cache_clear()  # read back from the per-boot cache file
    assert features.map_types() == features._read_cache()["map_types"]


def _many_kinds() -> list[Insn]:
    """A socket filter touching most instruction kinds the verifier accepts."""
    return [
        Insn(0xBF, 6, 1, 0, 0),  # r6 = r1 (ctx for ld_abs)
        Insn(0xB7, 0, 0, 0, 5), Insn(0xB4, 2, 0, 0, -3),  # r0 = 5; w2 = -3
        Insn(0x07, 0, 0, 0, 9), Insn(0x04, 2, 0, 0, 1), Insn(0x0F, 0, 2, 0, 0),
        Insn(0x1C, 2, 0, 0, 0), Insn(0x27, 0, 0, 0, 3), Insn(0x37, 0, 0, 1, 2),  # sdiv
        Insn(0x47, 0, 0, 0, 0xF0), Insn(0x57, 0, 0, 0, 0xFF), Insn(0x67, 0, 0, 0, 3),
        Insn(0x77, 0, 0, 0, 1), Insn(0x87, 0, 0, 0, 0), Insn(0x84, 2, 0, 0, 0),
        Insn(0x97, 0, 0, 0, 7), Insn(0xA7, 0, 0, 0, 0x55), Insn(0xC7, 0, 0, 0, 2),
        Insn(0xDC, 0, 0, 0, 16), Insn(0xD4, 0, 0, 0, 32), Insn(0xD7, 0, 0, 0, 64),
        Insn(0xBF, 3, 0, 8, 0),  # r3 = (s8)r0
        Insn(0x7B, 10, 0, -8, 0), Insn(0x62, 10, 0, -16, 77),  # stx / st
        Insn(0x79, 4, 10, -8, 0), Insn(0x91, 5, 10, -8, 0),  # ldx / ldsx
        Insn(0xB7, 1, 0, 0, 1), Insn(0xDB, 10, 1, -8, 0),  # lock add
        Insn(0xDB, 10, 1, -8, 0x41),  # fetch or
        Insn(0xDB, 10, 1, -8, 0xE1),  # xchg
        Insn(0xBF, 0, 1, 0, 0), Insn(0xDB, 10, 1, -8, 0xF1),  # cmpxchg
        *lddw(7, 0x1122334455667788),
        Insn(0x15, 0, 0, 1, 3), Insn(0x5D, 0, 7, 0, 0), Insn(0xA6, 2, 0, 0, 9),  # jeq, jne, w<
        Insn(0x30, 0, 0, 0, 12),  # r0 = *(u8 *)skb[12]
        Insn(0x05, 0, 0, 0, 0),  # goto +0
        Insn(0x85, 0, 0, 0, 7),  # call get_prandom_u32
        Insn(0x95),
    ]


@needs_bpftool
def test_xlated_printers_match_bpftool_on_many_kinds() -> None:
    from pybpf.kernel import load_program
    from pybpf.kernel.info import prog_by_id
    from pybpf.kernel.xlated import insn_text

    # ISA v4 forms the kernel's current disasm.c prints; bpftool 7.1 predates them
    v4 = {"(37) r0 s/= 2", "(d7) r0 = bswap64 r0", "(bf) r3 = (s8)r0",
          "(91) r5 = *(s8 *)(r10 -8)"}
    with load_program(ProgramSpec("cli_kinds", ProgType.SOCKET_FILTER, _many_kinds())) as p:
        pid = str(p.id)
        ref = bpftool("prog", "dump", "xlated", "id", pid).splitlines()
        ours = pybpf("prog", "dump", "xlated", pid)[1].splitlines()
        code = prog_by_id(p.id, xlated=True).xlated
        fallback, i = [], 0
        while i < len(code) // 8:  # the built-in printer agrees with pybpf.asm's
            text, used = insn_text(code, i)
            fallback.append(f"{i:4d}: {text}")
            i += used
        assert ours == fallback and len(ours) == len(ref) > 40
        differ = [(a, b) for a, b in zip(ours, ref, strict=True) if a != b]
        assert {a.split(": ", 1)[1] for a, _ in differ} == v4
        assert "call bpf_user_rnd_u32#" in ours[-2]  # helper named through kallsyms


def test_show_pinned(objs) -> None:  # type: ignore[no-untyped-def]
    import os

    from pybpf.kernel.pin import BPFFS, ensure_bpffs

    ensure_bpffs()
    path = f"{BPFFS}/pybpf_cli_{os.getpid()}"
    objs["hash"].pin(path)
    try:
        rc, out = pybpf("map", "show", "pinned", path, "--json")
        assert rc == 0 and json.loads(out)["id"] == objs["hash"].id
    finally:
        os.unlink(path)


@needs_bpftool
def test_feature_probe_agrees_with_bpftool() -> None:
    ours = json.loads(pybpf("feature", "--json", "--no-helpers")[1])
    theirs = json.loads(bpftool("--json", "feature", "probe", "kernel"))
    for section in ("program_types", "map_types", "misc"):
        common = set(ours[section]) & set(theirs[section])
        assert len(common) >= 4
        assert {k: ours[section][k] for k in common} == {k: theirs[section][k] for k in common}


@needs_bpftool
def test_btf_map_dump_matches_bpftool() -> None:
    """Maps with BTF are dumped through their types (strings, enums, structs, bitfields)."""
    from pybpf.btf import BtfBuilder
    from pybpf.kernel import KernelMap, load_btf
    from pybpf.kernel.syscall import close_fd

    b = BtfBuilder()
    u32 = b.int_type("unsigned int", 4)
    i32 = b.int_type("int", 4, signed=True)
    u64 = b.typedef("__u64", b.int_type("long long unsigned int", 8))
    ch = b.int_type("char", 1, char=True)
    flag = b.int_type("_Bool", 1, bool_=True)
    color = b.enum("color", [("RED", 0), ("GREEN", 1)])
    ptr = b.ptr(u32)
    val = b.struct("event", 48, [("cnt", u64, 0), ("comm", b.array(ch, 16), 64),
                                 ("sig", i32, 192), ("c", color, 224), ("lo", u32, 256, 3),
                                 ("hi", u32, 259, 5), ("ok", flag, 288), ("p", ptr, 320)])
    btf_fd = load_btf(b.encode())
    maps = []
    try:
        m = KernelMap.create(MapSpec("cli_btf", MapType.HASH, 4, 48, 4, btf_key_type_id=u32,
                                     btf_value_type_id=val), btf_fd=btf_fd)
        maps.append(m)
        m.update_raw(struct.pack("<I", 7), struct.pack("<Q16siiBBxxxxxxQ", 99, b"bash", -3, 1,
                                                       0b10101_110, 1, 0xFFFF8000))
        m.update_raw(struct.pack("<I", 8), struct.pack("<Q16siiBBxxxxxxQ", 1, b"\x01x", 4, 7,
                                                       0, 0, 0))
        pc = KernelMap.create(MapSpec("cli_btfpc", MapType.PERCPU_ARRAY, 4, 4, 2,
                                      btf_key_type_id=u32, btf_value_type_id=i32),
                              btf_fd=btf_fd)
        maps.append(pc)
        pc.typed("u32", "i32")[1] = -5
        for mm in maps:
            mid = str(mm.id)
            for opt in ((), ("--json",), ("--pretty",)):
                assert pybpf("map", "dump", mid, *opt)[1] == bpftool(*opt, "map", "dump", "id",
                                                                     mid)
        text = pybpf("map", "dump", str(m.id))[1]
        assert '"comm": "bash"' in text and '"c": "GREEN"' in text and '"sig": -3' in text
    finally:
        for mm in maps:
            mm.close()
        close_fd(btf_fd)


@needs_bpftool
def test_xlated_dump_with_btf_func_and_line_info_matches_bpftool() -> None:
    """Function signatures, source lines and bpf-to-bpf calls, as bpftool prints them."""
    from pybpf.btf import BtfBuilder
    from pybpf.kernel import load_program

    b = BtfBuilder()
    i32 = b.int_type("int", 4, signed=True)
    u32 = b.int_type("unsigned int", 4)
    skb = b.ptr(b.struct("__sk_buff", 4, [("len", u32, 0)]))
    f1 = b.func("prog_main", b.func_proto(i32, [("skb", skb)]))
    f2 = b.func("helper_fn", b.func_proto(i32, [("x", i32), ("y", u32)]))
    fn = b.add_string("prog.c")
    l1 = b.add_string("int prog_main(struct __sk_buff *skb) {")
    l2 = b.add_string("    return helper_fn(1, 2);")
    l3 = b.add_string("static int helper_fn(int x, unsigned y) { return x + y; }")
    insns = [Insn(0xB7, 1, 0, 0, 1), Insn(0xB7, 2, 0, 0, 2), Insn(0x85, 0, 1, 0, 1),
             Insn(0x95), Insn(0xBF, 0, 1, 0, 0), Insn(0x0F, 0, 2, 0, 0), Insn(0x95)]
    spec = ProgramSpec("prog_main", ProgType.SOCKET_FILTER, insns, btf=b.encode(),
                       func_info=[(0, f1), (4, f2)],
                       line_info=[(0, fn, l1, 1 << 10), (1, fn, l2, (2 << 10) | 5),
                                  (4, fn, l3, (5 << 10) | 1)])
    with load_program(spec) as p:
        assert p.test_run(bytes(64)).retval == 3
        pid = str(p.id)
        for extra in ((), ("linum",), ("opcodes",)):
            for opt in ((), ("--json",), ("--pretty",)):
                ours = pybpf("prog", "dump", "xlated", pid, *extra, *opt)[1]
                assert ours == bpftool(*opt, "prog", "dump", "xlated", "id", pid, *extra)
        text = pybpf("prog", "dump", "xlated", pid)[1]
        assert text.startswith("int prog_main(struct __sk_buff * skb):\n"
                               "; int prog_main(struct __sk_buff *skb) {\n   0: (b7) r1 = 1\n")
        assert "call pc+1#bpf_prog_" in text and "_helper_fn\n" in text


def test_unprivileged_user_gets_one_line_capability_hint() -> None:
    """Without privileges the CLI prints one line naming the capability, no traceback."""
    import importlib
    import os

    for mod in ("pybpf.cli.main", "pybpf.cli.map_cmd", "pybpf.cli._bpftool", "pybpf.kernel.info",
                "pybpf.kernel.errors", "argparse"):
        importlib.import_module(mod)  # the child, as nobody, may not read the interpreter's dirs
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop root, run the command, report (rc, stdout, stderr)
        rc = 99
        try:
            os.close(rfd)
            os.setgid(65534)
            os.setuid(65534)
            from pybpf.cli.main import main

            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(["map", "list"])
            os.write(wfd, json.dumps([rc, out.getvalue(), err.getvalue()]).encode())
        finally:
            os._exit(0 if rc != 99 else 1)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        data = f.read()
    os.waitpid(pid, 0)
    rc, out, err = json.loads(data)
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "operation not permitted for uid 65534" in err
    assert "CAP_BPF" in err and "unprivileged_bpf_disabled" in err
