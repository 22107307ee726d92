"""BTF reader and type queries on blobs made by the encoder (no privileges needed)."""

from __future__ import annotations

import struct

import pytest

from pybpf.btf import (
    Btf,
    BtfBuilder,
    BtfError,
    BtfNotFound,
    Kind,
    dump_c,
    essential_name,
    type_json,
)
from pybpf.btf import types as T
from pybpf.btf.format import HEADER
from pybpf.errors import BadInput


@pytest.fixture(scope="module")
def sample() -> tuple[Btf, dict[str, int]]:
    """Every kind once, plus the shapes CO-RE and the tracing language walk."""
    b = BtfBuilder()
    ids: dict[str, int] = {}
    ids["int"] = i32 = b.int_type("int", 4, signed=True)
    ids["uint"] = u32 = b.int_type("unsigned int", 4)
    ids["char"] = ch = b.int_type("char", 1, char=True)
    ids["u64"] = u64 = b.int_type("long long unsigned int", 8)
    ids["bool"] = b.int_type("_Bool", 1, bool_=True)
    ids["pid_t"] = pid_t = b.typedef("pid_t", i32)
    ids["comm"] = comm = b.array(ch, 16)
    ids["fwd_task"] = b.fwd("task")
    ids["cpid"] = cpid = b.const(pid_t)
    ids["vol"] = vol = b.volatile(u64)
    ids["inner"] = inner = b.struct("", 8, [("a", u32, 0), ("b", u32, 32)])
    ids["flags"] = b.struct("flags", 4, [
        ("lo", u32, 0, 3), ("hi", u32, 3, 5), ("rest", u32, 8, 24)])
    # struct task { pid_t pid; char comm[16]; struct { unsigned a, b; }; task *parent; }
    task_members = [("pid", pid_t, 0), ("comm", comm, 32), ("", inner, 160)]
    ids["task"] = task = b.struct("task", 40, task_members + [
        ("parent", b.ptr(ids["fwd_task"]), 256)])
    ids["task_ptr"] = tptr = b.ptr(task)
    ids["task2"] = b.struct("task2", 48, task_members + [
        ("parent", tptr, 256), ("cpid", cpid, 320), ("v", vol, 320),
    ])
    ids["u"] = b.union("val", 8, [("i", i32, 0), ("l", u64, 0)])
    ids["enum"] = b.enum("color", {"RED": 0, "GREEN": 1, "NEG": -5})
    ids["enum64"] = b.enum("big", [("HUGE", 1 << 40), ("ONE", 1)])
    ids["void_ptr"] = vp = b.ptr(0)
    ids["restrict"] = b.restrict(vp)
    ids["proto"] = proto = b.func_proto(i32, [("ctx", vp), ("n", u32)])
    ids["func"] = b.func("handler", proto)
    ids["vproto"] = vproto = b.func_proto(0, [("fmt", b.ptr(b.const(ch)))], variadic=True)
    ids["fptr_t"] = b.typedef("btf_trace_thing", b.ptr(proto))
    ids["fparr"] = b.struct("ops", 16, [("cbs", b.array(b.ptr(vproto), 2), 0)])
    ids["var"] = var = b.var("counter", u64)
    ids["sec"] = b.datasec(".bss", [(var, 0, 8)])
    ids["float"] = b.float_type("double", 8)
    ids["tag"] = b.decl_tag("kfunc", ids["func"])
    ids["ttag"] = b.type_tag("user", u32)
    ids["flavor"] = b.struct("task___v2", 4, [("pid", pid_t, 0)])
    ids["packed"] = b.struct("pk", 5, [("c", ch, 0), ("x", u32, 8)])
    return Btf(b.encode(), name="sample"), ids


def test_header_and_counts(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    assert btf.nr_types == max(ids.values()) + 1
    magic, version, *_ = HEADER.unpack_from(btf.raw)
    assert (magic, version) == (0xEB9F, 1)
    assert isinstance(btf[0], T.Void)


def test_every_kind_decodes(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    kinds = {btf[i].kind for i in range(1, btf.nr_types)}
    assert kinds == set(Kind) - {Kind.UNKN}
    flags = btf[ids["flags"]]
    assert isinstance(flags, T.Struct) and flags.kflag
    assert [(m.name, m.bit_offset, m.bitfield_size) for m in flags.members] == [
        ("lo", 0, 3), ("hi", 3, 5), ("rest", 8, 24)]
    e = btf[ids["enum"]]
    assert isinstance(e, T.Enum) and e.signed and e.kind == Kind.ENUM
    assert btf.enum_values(ids["enum"]) == {"RED": 0, "GREEN": 1, "NEG": -5}
    e64 = btf[ids["enum64"]]
    assert e64.kind == Kind.ENUM64 and btf.enum_values(e64.id)["HUGE"] == 1 << 40
    tag = btf[ids["tag"]]
    assert isinstance(tag, T.DeclTag) and tag.component_idx == -1
    assert btf[ids["sec"]] == T.Datasec(ids["sec"], ".bss", 8, (T.VarSecinfo(ids["var"], 0, 8),))
    ch = btf[ids["char"]]
    assert isinstance(ch, T.Int) and ch.encoding == 2 and ch.bits == 8


def test_find_kinds_and_errors(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    assert btf.find("task", Kind.STRUCT) == ids["task"]
    assert btf.find("task") == ids["task"]  # definition preferred over the FWD
    assert btf.find("task", Kind.FWD) == ids["fwd_task"]
    assert btf.find_all("task") == sorted([ids["task"], ids["fwd_task"]])
    with pytest.raises(BtfNotFound, match="no union type named 'task'"):
        btf.find("task", Kind.UNION)
    with pytest.raises(BtfNotFound):
        btf.find("tas")  # a prefix of a real name is not a match
    assert btf.find_candidates("task___local", Kind.STRUCT) == sorted([ids["task"], ids["flavor"]])
    assert essential_name("task___v2") == "task" and essential_name("___x") == "___x"


def test_resolve_size_align(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    assert btf.resolve(ids["cpid"]) == ids["int"]
    assert btf.skip_mods(ids["cpid"]) == ids["pid_t"]
    assert btf.resolve(ids["ttag"]) == ids["uint"]
    assert btf.size(ids["comm"]) == 16 and btf.align(ids["comm"]) == 1
    assert btf.size(ids["task_ptr"]) == 8 and btf.size(ids["vol"]) == 8
    assert btf.size(ids["var"]) == 8
    assert btf.align(ids["task2"]) == 8 and btf.align(ids["packed"]) == 1
    with pytest.raises(BtfNotFound, match="has no size"):
        btf.size(ids["proto"])


def test_member_lookup_and_paths(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    f = btf.member(ids["task2"], "b")  # inside the anonymous struct at bit 160
    assert (f.bit_offset, f.type) == (160 + 32, ids["uint"])
    f = btf.member_path("task2", "comm[3]")
    assert (f.offset, f.type, f.derefs) == (4 + 3, ids["char"], ())
    f = btf.member_path("task2", "parent.pid")  # "." follows the pointer, like bpftrace
    assert (f.offset, f.derefs, f.path) == (0, (32,), ("parent", "pid"))
    f = btf.member_path("task2", "parent->comm[1]")
    assert (f.offset, f.derefs) == (5, (32,))
    f = btf.member_path(ids["flags"], "hi")
    assert (f.bit_offset, f.bitfield_size) == (3, 5)
    with pytest.raises(BtfNotFound, match="has no member 'nope'"):
        btf.member_path("task2", "parent.nope")
    with pytest.raises(BtfNotFound, match="cannot be indexed"):
        btf.member_path("task2", "pid[1]")


def test_fields_lift_anonymous_members(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    got = [(f.name, f.bit_offset, f.type) for f in btf.fields(ids["task2"])]
    assert got[:5] == [("pid", 0, ids["pid_t"]), ("comm", 32, ids["comm"]),
                       ("a", 160, ids["uint"]), ("b", 192, ids["uint"]),
                       ("parent", 256, ids["task_ptr"])]
    assert [f.name for f in btf.fields(ids["u"])] == ["i", "l"]


def test_func_proto(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    p = btf.func_proto("handler")
    assert [(x.name, x.type) for x in p.params] == [("ctx", ids["void_ptr"]), ("n", ids["uint"])]
    assert btf.func_proto("btf_trace_thing") == p
    assert btf.func_proto(ids["vproto"]).variadic


@pytest.mark.parametrize("key,want", [
    ("task2", "struct task2 {\n\tpid_t pid;\n\tchar comm[16];\n\tstruct {\n\t\tunsigned int a;"
              "\n\t\tunsigned int b;\n\t};\n\tstruct task *parent;\n\tconst pid_t cpid;\n"
              "\tvolatile long long unsigned int v;\n};\n"),
    ("flags", "struct flags {\n\tunsigned int lo: 3;\n\tunsigned int hi: 5;\n"
              "\tunsigned int rest: 24;\n};\n"),
    ("fptr_t", "typedef int (*btf_trace_thing)(void *ctx, unsigned int n);\n"),
    ("fparr", "struct ops {\n\tvoid (*cbs[2])(const char *fmt, ...);\n};\n"),
    ("enum", "enum color {\n\tRED = 0,\n\tGREEN = 1,\n\tNEG = -5,\n};\n"),
    ("enum64", "enum big {\n\tHUGE = 1099511627776ULL,\n\tONE = 1ULL,\n};\n"),
    ("func", "int handler(void *ctx, unsigned int n);\n"),
    ("packed", "struct pk {\n\tchar c;\n\tunsigned int x;\n} __attribute__((packed));\n"),
    ("u", "union val {\n\tint i;\n\tlong long unsigned int l;\n};\n"),
])
def test_dump_c(sample: tuple[Btf, dict[str, int]], key: str, want: str) -> None:
    btf, ids = sample
    assert dump_c(btf, ids[key]) == want


def test_type_names(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    assert btf.type_name(ids["task_ptr"]) == "struct task *"
    assert btf.type_name(ids["comm"]) == "char[16]"
    assert btf.decl(ids["comm"], "comm") == "char comm[16]"
    assert btf.type_name(ids["fwd_task"]) == "struct task"
    assert btf.decl(ids["restrict"], "p") == "void * restrict p"


def test_json_shape(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, ids = sample
    assert type_json(btf, ids["flags"])["members"][1] == {
        "name": "hi", "type_id": ids["uint"], "bits_offset": 3, "bitfield_size": 5}
    assert type_json(btf, ids["comm"]) == {
        "id": ids["comm"], "kind": "ARRAY", "name": "(anon)", "type_id": ids["char"],
        "index_type_id": btf.find("__ARRAY_SIZE_TYPE__"), "nr_elems": 16}


def test_lazy_lookup_decodes_only_what_it_needs() -> None:
    b = BtfBuilder()
    i = b.int_type("int", 4, signed=True)
    for n in range(2000):
        b.struct(f"s{n}", 4, [("x", i, 0)])
    btf = Btf(b.encode())
    tid = btf.find("s10", Kind.STRUCT)
    assert tid == 12
    assert len(btf._offs) <= 20  # indexed only up to the match
    assert len(btf._cache) <= 2  # and decoded only the candidates' kinds, not the rest
    assert btf.nr_types == 2002  # counting everything forces the full index
    for n in range(0, 2000, 97):  # a few scans: then a column of name offsets is searched
        assert btf.find(f"s{n}") == n + 2
    assert btf._name_col is not None and btf._name_index is None
    for n in range(0, 2000, 31):  # enough lookups to switch to the full name index
        assert btf.find(f"s{n}") == n + 2
    assert btf._name_index is not None and btf.find("s1999") == 2001


def test_split_btf_over_base() -> None:
    b = BtfBuilder()
    i = b.int_type("int", 4, signed=True)
    s = b.struct("base_s", 4, [("x", i, 0)])
    base = Btf(b.encode(), name="base")
    m = BtfBuilder(base)
    p = m.ptr(s)
    mod_s = m.c_struct("mod_s", [("b", s), ("p", p), ("y", i)])
    m.struct("base_s", 8, [("x", i, 0), ("y", i, 32)])  # same name as a base type
    mod = Btf(m.encode(), base=base, name="mod")
    assert mod.start_id == 3 and mod.nr_types == 6
    assert mod.find("mod_s") == mod_s == 4
    assert mod.find_all("base_s") == [2, 5]
    assert mod.size(mod_s) == 24 and mod.member_path("mod_s", "p.x").derefs == (8,)
    assert mod[s].name == "base_s" and mod.string(0) == ""
    assert "int" not in m._strs.decode()  # the base's strings are reused


@pytest.mark.parametrize("blob,msg", [
    (b"\x9f\xeb", "too short"),
    (HEADER.pack(0x1234, 1, 0, 24, 0, 0, 0, 1) + b"\0", "bad BTF magic"),
    (HEADER.pack(0xEB9F, 2, 0, 24, 0, 0, 0, 1) + b"\0", "version 2"),
    (HEADER.pack(0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<III", 0, 25 << 24, 0) + b"\0",
     "unknown kind"),
    (HEADER.pack(0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<III", 0, 4 << 24 | 1, 0) + b"\0",
     "past the end|cut short"),
    (HEADER.pack(0xEB9F, 1, 0, 24, 0, 400, 400, 1), "outside the blob"),
])
def test_malformed_blobs(blob: bytes, msg: str) -> None:
    with pytest.raises(BtfError, match=msg) as e:
        Btf(blob, name="bad.btf").nr_types  # noqa: B018
    assert isinstance(e.value, BadInput) and "\n" not in str(e.value)
    assert str(e.value).startswith("bad.btf")


def test_missing_type_id(sample: tuple[Btf, dict[str, int]]) -> None:
    btf, _ = sample
    with pytest.raises(BtfNotFound, match="type id 9999 does not exist"):
        btf[9999]


def test_builder_rejects_bad_input() -> None:
    b = BtfBuilder()
    with pytest.raises(BadInput, match="not been added"):
        b.ptr(5)
    with pytest.raises(BadInput, match="one encoding"):
        b.int_type("x", 1, signed=True, char=True)
    with pytest.raises(BadInput, match="size 3"):
        b.int_type("x", 3)
    i = b.int_type("int", 4)
    with pytest.raises(BadInput, match="not a func_proto"):
        b.func("f", i)
    assert b.add_string("abc") == b.add_string("abc")  # deduplicated


def test_c_struct_layout() -> None:
    b = BtfBuilder()
    c = b.int_type("char", 1)
    u64 = b.int_type("long unsigned int", 8)
    s = b.c_struct("k", [("a", c), ("b", u64), ("c", c)])
    btf = Btf(b.encode())
    st = btf[s]
    assert isinstance(st, T.Struct)
    assert [m.bit_offset // 8 for m in st.members] == [0, 8, 16] and st.size == 24
