"""pybpf's object loader against libbpf: the same clang-built object loaded both ways must
leave the kernel holding the same programs and maps.

libbpf side: Debian's ``bpftool prog loadall OBJ DIR pinmaps DIR/maps`` (libbpf 1.1).
pybpf side: ``load_collection_spec(OBJ).load()``. Both are read back through the SAME path
(``bpftool -j prog show | prog dump xlated opcodes | map show | map dump | btf dump`` by
id, plus ``pybpf.kernel.info`` for the fields bpftool does not print) and compared:

- programs by name: kernel prog type and name, tag (hash of the pre-verifier instructions,
  map fds zeroed), attach_btf_id / attach_btf_obj_id (tp_btf, struct_ops; the
  expected_attach_type itself is not in bpf_prog_info), func_info and line_info records
  and the prototype / source line bpftool prints at each xlated instruction, the number
  of maps used, and the verifier-rewritten (xlated) instructions, byte for byte except:
  the ``ld_imm64`` of a map (src_reg PSEUDO_MAP_FD/_VALUE/_IDX/_IDX_VALUE) is compared
  by the map's NAME instead of its id (ids differ per load; the value offset half is
  compared as is). That is the only normalization needed: helper call offsets, bpf-to-bpf
  call and PSEUDO_FUNC offsets (dumped pc-relative, not as JIT addresses), CO-RE-patched
  offsets and constants, ksym addresses / BTF ids, and verifier inlining all match raw.
- maps by name (libbpf names internal maps ``<object name prefix>.rodata`` etc., at most
  15 chars; pybpf's kernel name is the bare ``.rodata``: checked as such): type, key and
  value size, max_entries, flags, frozen, BTF key / value / vmlinux value type ids, and
  the contents of every global-data map (.rodata, .data, .bss, .kconfig) after load.
- the object BTF the kernel holds (one per side), type by type.

libbpf 1.1 cannot load some tests/bpf objects as written (they use what only pybpf or a
newer libbpf accepts), so for those BOTH sides load a copy built from minimally edited
source (``EDITS``, each says what libbpf 1.1 rejects; line numbers are kept);
``test_unedited_object_as_libbpf_edited`` then checks pybpf on the original gives the same
programs and maps as libbpf on the copy. core_bad and verifier_bad (broken on purpose) are
not compared.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bpf.build import HERE, build, cache_dir, missing, vmlinux_h

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(missing() is not None, reason=f"objects: {missing()}"),
    pytest.mark.skipif(shutil.which("bpftool") is None,
                       reason="bpftool is not installed (apt-get install bpftool): it is "
                              "the libbpf loader compared against"),
]

BPFFS = "/sys/fs/bpf"
LD_IMM64 = 0x18
MAP_SRCS = (1, 2, 5, 6)  # PSEUDO_MAP_FD, _VALUE, _IDX, _IDX_VALUE


def _sub(old: str, new: str, why: str) -> Callable[[str], str]:
    """A source edit (regex ``old`` -> template ``new``) that keeps the line count, so the
    edited object's line_info matches the original's."""
    pat = re.compile(old, re.S)

    def repl(m: re.Match[str]) -> str:
        out = m.expand(new)
        return out + "\n" * max(0, m.group(0).count("\n") - out.count("\n"))

    def edit(src: str) -> str:
        out, n = pat.subn(repl, src)
        assert n, f"edit for libbpf ({why}) no longer applies: update EDITS"
        return out
    return edit


def _drop_typed_value(kind: str, replace: str = "") -> Callable[[str], str]:
    """libbpf 1.1 passes a ``__type(value, T)`` of a ring buffer / perf event array to the
    kernel as value_size = sizeof(T), which the kernel rejects (EINVAL); pybpf keeps T as
    the record type for decoding and creates the map with the size the kernel wants."""
    head = r"(__uint\(type, BPF_MAP_TYPE_" + kind + r"\);\n(?:[^}\n]*\n)*?\s*)"
    return _sub(head + r"__type\(value, [^)]*\);", r"\g<1>" + replace, f"typed {kind} map")


def _drop_function(name: str, why: str) -> Callable[[str], str]:
    return _sub(r'SEC\("[^"]*"\)\n[^\n]*\b' + name + r"\b.*?\n}\n", "", why)


EDITS: dict[str, list[Callable[[str], str]]] = {
    "procstat": [],
    "trace": [_drop_typed_value("RINGBUF")],
    "opensnoop": [_drop_typed_value("RINGBUF")],
    "uprobe": [
        _drop_typed_value("PERF_EVENT_ARRAY", "__uint(value_size, sizeof(__u32));"),
        # a SEC("?...") program: libbpf 1.1 skips loading it but then bpftool fails to pin
        # it ("can't pin program that wasn't loaded")
        _drop_function("on_target_optional", "bpftool cannot pin unloaded programs"),
    ],
    "xdp": [_sub(r'struct legacy_def legacy_counts SEC\("maps"\) = \{[^}]*\};',
                 "struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); "
                 "__type(key, __u32); __type(value, __u64); } legacy_counts SEC(\".maps\");",
                 "libbpf 1.0+ rejects legacy SEC(\"maps\") definitions")],
    "btfprog": [
        # the kernel resolves the typed __ksym `runqueues` only with CONFIG_KALLSYMS_ALL
        # (not set here: both loaders fail on it); pybpf's own tests switch it off
        _drop_function("uses_runqueues", "typed __ksym needs CONFIG_KALLSYMS_ALL"),
        # pin-by-name would pin under the global /sys/fs/bpf (bpftool has no pin root)
        _sub(r"\s*__uint\(pinning, LIBBPF_PIN_BY_NAME\);", "", "global pin path"),
    ],
    "struct_ops": [
        # a struct_ops program no map points at: libbpf 1.1 still loads it (the kernel
        # refuses it: no attach_btf_id); pybpf and newer libbpf skip it
        _drop_function("pyca_unused", "unreferenced struct_ops program"),
        # libbpf 1.1 predates SEC(".struct_ops.link") (libbpf 1.2) and skips the section
        _sub(r'SEC\("\.struct_ops\.link"\)\n[^;]*;\n', "", "no .struct_ops.link in 1.1"),
        # pybpf registers a .struct_ops map when it loads it (libbpf on attach): a name
        # of this process's own, so concurrent runs (this file, test_elf_struct_ops)
        # cannot collide on the congestion control name
        _sub(r'\.name = "pybpf_ca"', f'.name = "pybpf_vs{os.getpid() % 10**6}"',
             "own tcp_congestion_ops name"),
    ],
}


PER_PROCESS = {"struct_ops"}  # edited sources that differ per process (see EDITS)


def _objdir(name: str) -> str:
    sub = f"vslibbpf-{os.getpid()}" if name in PER_PROCESS else "vslibbpf"
    return os.path.join(cache_dir(), sub)


@pytest.fixture(scope="module", autouse=True)
def _drop_per_process_objects() -> Iterator[None]:
    yield
    for name in PER_PROCESS:
        shutil.rmtree(_objdir(name), ignore_errors=True)


def _object(name: str) -> str:
    """The object both sides load: the test object, or a copy built from edited source."""
    if not EDITS[name]:
        return build(name)
    with open(os.path.join(HERE, f"{name}.bpf.c")) as f:
        src = f.read()
    for edit in EDITS[name]:
        src = edit(src)
    d = _objdir(name)
    os.makedirs(d, exist_ok=True)
    src_path = os.path.join(d, f"{name}.bpf.c")
    out = os.path.join(d, f"{name}.bpf.o")  # same basename: libbpf names maps after it
    if os.path.exists(out) and os.path.exists(src_path):
        with open(src_path) as f:
            if f.read() == src:
                return out
    tmp = f"{out}.{os.getpid()}"
    with open(f"{src_path}.{os.getpid()}", "w") as f:
        f.write(src)
    r = subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                        f"-I{os.path.dirname(vmlinux_h(cache_dir()))}", f"-I{HERE}",
                        "-x", "c", "-c", f"{src_path}.{os.getpid()}", "-o", tmp],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"clang failed on the edited {name}.bpf.c:\n{r.stderr}"
    os.replace(tmp, out)
    os.replace(f"{src_path}.{os.getpid()}", src_path)
    return out


def _bpftool(*args: str) -> Any:
    r = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True)
    assert r.returncode == 0, f"bpftool {' '.join(args)}: {r.stderr.strip() or r.stdout}"
    return json.loads(r.stdout)


def libbpf_map_name(obj: str, name: str) -> str:
    """The kernel name libbpf gives map ``name`` of object ``obj`` (internal maps get a
    prefix of the object name so the whole fits in 15 characters)."""
    if name.startswith("."):
        pfx = max(0, min(len(obj), 15 - max(7, len(name))))
        return (obj[:pfx] + name)[:15]
    return name[:15]


# -- reading the kernel's view (same path for both sides) ----------------------------
def _map_info(map_id: int) -> dict[str, Any]:
    from pybpf.kernel.info import map_by_id

    info = _bpftool("map", "show", "id", str(map_id))
    keep = ("type", "name", "flags", "bytes_key", "bytes_value", "max_entries", "frozen")
    det = map_by_id(map_id)  # the BTF type ids bpftool does not show
    return {k: info.get(k) for k in keep} | {
        "has_btf": bool(det.btf_id), "btf_key_type_id": det.btf_key_type_id,
        "btf_value_type_id": det.btf_value_type_id,
        "btf_vmlinux_value_type_id": det.btf_vmlinux_value_type_id, "id": map_id}


def _map_values(map_id: int) -> list[tuple[bytes, bytes]]:
    dump = _bpftool("map", "dump", "id", str(map_id))
    return [(bytes(int(b, 16) for b in e["key"]), bytes(int(b, 16) for b in e["value"]))
            for e in dump]


def _insn_bytes(op: dict[str, Any]) -> tuple[int, int, int, int, bytes]:
    return (int(op["code"], 16), int(op["src_reg"], 16), int(op["dst_reg"], 16),
            int.from_bytes(bytes(int(b, 16) for b in op["off"]), "little", signed=True),
            bytes(int(b, 16) for b in op["imm"]))


def _program(prog_id: int, map_names: dict[int, str]) -> dict[str, Any]:
    """What the kernel holds for a program, map ids replaced by map names."""
    from pybpf.kernel.info import prog_by_id

    show = _bpftool("prog", "show", "id", str(prog_id))
    det = prog_by_id(prog_id, xlated=True)  # func/line info records, attach_btf_*
    xl = _bpftool("prog", "dump", "xlated", "id", str(prog_id), "opcodes")
    insns: list[tuple[Any, ...]] = []
    lines: list[tuple[int, str]] = []
    protos: list[tuple[int, str]] = []
    for i, e in enumerate(xl):
        code, src, dst, off, imm = _insn_bytes(e["opcodes"])
        what: Any = imm
        if code == LD_IMM64 and src in MAP_SRCS:
            mid = int.from_bytes(imm[:4], "little")
            what = ("map", map_names.get(mid) or _map_info(mid)["name"], imm[4:])
        insns.append((code, src, dst, off, what, e["disasm"]))
        if e.get("src"):
            lines.append((i, e["src"]))
        if e.get("proto"):
            protos.append((i, e["proto"]))
    return {"type": show["type"], "name": show["name"], "tag": show["tag"],
            "attach_btf_id": det.attach_btf_id, "attach_btf_obj_id": det.attach_btf_obj_id,
            "insns": insns, "lines": lines, "protos": protos, "btf_id": det.btf_id,
            "map_ids": show.get("map_ids", []),
            "func_info": [(off, tid) for off, tid in det.func_info],
            "line_info": [(off, col) for off, _, _, col in det.line_info]}


def _side(progs: dict[str, int], maps: dict[str, int]) -> dict[str, Any]:
    minfo = {name: _map_info(i) for name, i in maps.items()}
    names = {i: name for name, i in maps.items()}
    data = {name: _map_values(i) for name, i in maps.items()
            if minfo[name]["type"] == "array" and minfo[name]["max_entries"] == 1
            and "." in name}
    pinfo = {n: _program(i, names) for n, i in progs.items()}
    btf_ids = {p["btf_id"] for p in pinfo.values()}
    btf = {i: _bpftool("btf", "dump", "id", str(i))["types"] for i in btf_ids if i}
    return {"progs": pinfo, "maps": minfo, "data": data, "btf": btf}


# -- the two loaders ------------------------------------------------------------------
@pytest.fixture
def pin_dir() -> Iterator[str]:
    d = os.path.join(BPFFS, f"pybpf-vs-libbpf-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)  # unlinking the pins frees libbpf's objects


def _libbpf(obj: str, pin_dir: str) -> dict[str, Any]:
    r = subprocess.run(["bpftool", "prog", "loadall", obj, pin_dir, "pinmaps",
                        f"{pin_dir}/maps"], capture_output=True, text=True)
    if r.returncode:
        pytest.fail(f"libbpf (bpftool prog loadall) could not load {obj}:\n{r.stderr[-3000:]}")
    progs = {p: _bpftool("prog", "show", "pinned", f"{pin_dir}/{p}")["id"]
             for p in os.listdir(pin_dir) if p != "maps"}
    maps: dict[str, int] = {}
    for f in os.listdir(f"{pin_dir}/maps"):
        info = _bpftool("map", "show", "pinned", f"{pin_dir}/maps/{f}")
        maps[info["name"]] = info["id"]
    return _side(progs, maps)


def _compare_loads(name: str, pin_dir: str, *, original: bool = False) -> list[str]:
    """Differences between libbpf's load of ``_object(name)`` and pybpf's load of the same
    object (``original``: of the unedited test object, BTF not compared)."""
    from pybpf.elf import load_collection_spec

    obj = _object(name)
    want = _libbpf(obj, pin_dir)
    spec = load_collection_spec(build(name) if original else obj)
    with spec.load() as coll:
        got = _side({n: p.id for n, p in coll.programs.items()},
                    {libbpf_map_name(name, n): m.id for n, m in coll.maps.items()})
    assert want["progs"] and want["maps"], f"{name}: libbpf loaded nothing to compare"
    assert all(p["insns"] for p in want["progs"].values())
    return _differences(name, got, want, btf=not original)


def _differences(obj: str, got: dict[str, Any], want: dict[str, Any], *,
                 btf: bool = True) -> list[str]:
    """Every way pybpf's load differs from libbpf's, one line each (empty: identical)."""
    out: list[str] = []

    def cmp(where: str, g: Any, w: Any) -> None:
        if g != w:
            out.append(f"{obj}: {where}: pybpf {g!r} libbpf {w!r}")

    cmp("programs", sorted(got["progs"]), sorted(want["progs"]))
    cmp("maps", sorted(got["maps"]), sorted(want["maps"]))
    for m in sorted(set(got["maps"]) & set(want["maps"])):
        g, w = got["maps"][m], want["maps"][m]
        if "." in m:  # internal map: pybpf names it after the section only
            cmp(f"map {m}: kernel name", g["name"], m[m.index("."):])
            g = {**g, "name": m}
        for k in sorted(g):
            if k != "id" and (btf or "btf" not in k):
                cmp(f"map {m}: {k}", g[k], w[k])
    cmp("data maps", sorted(got["data"]), sorted(want["data"]))
    for m in sorted(set(got["data"]) & set(want["data"])):
        cmp(f"initial contents of {m}", got["data"][m], want["data"][m])
    for p in sorted(set(got["progs"]) & set(want["progs"])):
        g, w = got["progs"][p], want["progs"][p]
        for k in ("type", "name", "attach_btf_id", "attach_btf_obj_id", "tag", "protos",
                  "lines", "line_info") + (("func_info",) if btf else ()):
            cmp(f"program {p}: {k}", g[k], w[k])
        cmp(f"program {p}: xlated length", len(g["insns"]), len(w["insns"]))
        for i, (a, b) in enumerate(zip(g["insns"], w["insns"], strict=False)):
            if a[:5] != b[:5]:
                out.append(f"{obj}: program {p}: xlated insn {i}: pybpf {a[5]!r} {a[:5]} "
                           f"libbpf {b[5]!r} {b[:5]}")
        cmp(f"program {p}: number of maps used", len(g["map_ids"]), len(w["map_ids"]))
    if btf:
        cmp("number of BTF objects", len(got["btf"]), len(want["btf"]))
        if len(got["btf"]) == len(want["btf"]) == 1:
            gt, wt = next(iter(got["btf"].values())), next(iter(want["btf"].values()))
            cmp("BTF type count", len(gt), len(wt))
            for a, b in zip(gt, wt, strict=False):
                cmp(f"BTF type {b['id']} {b.get('name')!r}", a, b)
    return out


@pytest.mark.parametrize("name", sorted(EDITS))
def test_same_kernel_objects_as_libbpf(name: str, pin_dir: str) -> None:
    diffs = _compare_loads(name, pin_dir)
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("name", ["opensnoop", "uprobe", "xdp"])
def test_unedited_object_as_libbpf_edited(name: str, pin_dir: str) -> None:
    """pybpf on the object as written (legacy ``maps`` section, typed ring buffer / perf
    event array values, a ``SEC("?...")`` program) gives the programs and maps libbpf gives
    for the copy edited into what libbpf 1.1 accepts (BTF not compared: the edits change
    it). Not trace: its edit renumbers BTF types, so a ``bpf_core_type_id_local()``
    constant legitimately differs."""
    diffs = _compare_loads(name, pin_dir, original=True)
    assert not diffs, "\n".join(diffs)
