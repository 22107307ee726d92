"""BTF: parse (lazily), query, print as C, and build BPF Type Format blobs.

Why lazy: vmlinux BTF holds ~125k types; tools that need one struct must not
decode them all. Opening a blob only reads it. A cold ``find`` searches the
string section for the name and the raw type section for its offset, indexing
record boundaries only up to the match (~1 ms for task_struct); types are
decoded on first use and cached. After a few lookups a full name index is
built once (~130 ms, ~9 MB) so bulk users (CO-RE) stay fast.

API (the door of this room; everything else is internal)::

    from pybpf.btf import vmlinux, Btf, Kind

    btf = vmlinux()                          # /sys/kernel/btf/vmlinux, cached per process
    tid = btf.find("task_struct", Kind.STRUCT)   # -> type id; BtfNotFound if absent
    btf.find_all("foo", kind=None)           # -> [ids], every type with that name
    btf.find_candidates("foo___v2", Kind.STRUCT)  # CO-RE: ids whose essential name
                                             #   (``___flavor`` stripped) is "foo"
    t = btf[tid]                             # -> Type (Struct, Int, Ptr, ...), decoded once
    t.kind, t.name, t.id                     # every type; plus per-kind fields:
    #   Int(size, encoding, bit_offset, bits)  Ptr(type)  Array(type, index_type, nelems)
    #   Struct/Union(size, members: [Member(name, type, bit_offset, bitfield_size)])
    #   Enum/Enum64(size, signed, values: [EnumValue(name, value)])  Fwd(is_union)
    #   Typedef/Const/Volatile/Restrict/TypeTag(type)  Func(type, linkage)
    #   FuncProto(ret, params: [Param(name, type)])  Var(type, linkage)
    #   Datasec(size, vars: [VarSecinfo(type, offset, size)])  Float(size)
    #   DeclTag(type, component_idx)
    btf.resolve(tid)        # skip typedef/const/volatile/restrict/type_tag -> id
    btf.skip_mods(tid)      # skip const/volatile/restrict/type_tag only -> id
    btf.size(tid), btf.align(tid)            # bytes, after resolving
    btf.member(sid, "pid")  # -> Field(name, type, bit_offset, bitfield_size, path):
                            #   searches anonymous nested structs/unions too
    btf.fields(sid) -> [Field]   # all members, anonymous structs/unions lifted in place
    btf.member_path("task_struct", "real_parent.pid")   # follows pointers at "." and "->",
                            #   indexes arrays "[i]"; -> Field (offset from its last base;
                            #   Field.derefs lists the pointer hops with their byte offsets)
    btf.enum_values(tid) -> dict[str, int]
    btf.func_proto("btf_trace_sched_switch") # FUNC / typedef-of-ptr-to-proto name or id
                                             #   -> FuncProto (params with names and types)
    btf.type_name(tid) -> "struct task_struct *"   # C spelling of a type
    btf.decl(tid, "comm") -> "char comm[16]"       # C declaration of a name of that type
    btf.types() -> Iterator[Type]; len(btf); btf.raw (the blob)
    Btf.from_bytes(data, base=None, name="")  # .BTF of an object, or split BTF over base
    Btf.from_file(path, base=None)

    module_btf("nf_tables")     # /sys/kernel/btf/<module>, split over vmlinux(), cached
    find_kernel_type(name, kind) -> (Btf, id)   # vmlinux, then loaded modules

    dump_c(btf, tid) -> str     # one type as C, as ``bpftool btf dump ... format c`` prints it
    dump_header(btf) -> str     # the whole blob as one C header (vmlinux.h), like bpftool
    type_json(btf, tid) -> dict # one type as ``bpftool -j btf dump`` prints it
    type_raw(btf, tid) -> str   # one type as ``bpftool btf dump`` (raw) prints it

    load_object_btf("prog.bpf.o") -> (Btf, BtfExt | None)   # .BTF and .BTF.ext of an object
    parse_btf_ext(data, btf) -> BtfExt    # func_info / line_info / core_relos per ELF section;
                                          #   CoreRelo(insn, type_id, access "0:1", kind)
    patch_datasecs(btf, {".data": 16}, {"counter": 0}) -> bytes   # fill the DATASEC sizes and
                                          #   var offsets clang leaves 0, before BTF_LOAD

    b = BtfBuilder()            # encoder; every method returns the new type id
    u32 = b.int_type("unsigned int", 4); p = b.ptr(u32); a = b.array(u32, 16)
    s = b.struct("pt", 8, [("x", u32, 0), ("y", u32, 32)])   # (name, type, bit_offset[, bits])
    b.union / b.enum / b.enum64 / b.typedef / b.const / b.volatile / b.restrict / b.fwd /
    b.func_proto(ret, [("a", u32)]) / b.func(name, proto) / b.var / b.datasec /
    b.type_tag / b.decl_tag / b.float_type; b.c_struct(name, [(field, type)]) lays
    out fields at natural alignment; b.find(name, kind) -> id already added or None
    blob = b.encode()           # header + types + deduplicated strings
    encode_func_info([(insn_off, type_id)]), encode_line_info([LineInfo(...)]) -> bytes

Errors: ``BtfError`` (BadInput) for a malformed blob, naming the byte offset or type
id; ``BtfNotFound`` (PybpfError) for a name or member that does not exist.
"""

from __future__ import annotations

from .format import Kind
from .parse import Btf, BtfError, BtfNotFound, essential_name
from .types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Field,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from .vmlinux import find_kernel_type, module_btf, module_names, vmlinux

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from typing import Any

    from .build import BtfBuilder, LineInfo, encode_func_info, encode_line_info
    from .cdump import dump_c
    from .cheader import dump_header
    from .ext import BtfExt, CoreRelo, CoreReloKind, load_object_btf, parse_btf_ext
    from .fixup import patch_datasecs
    from .jsonfmt import type_json, type_raw

# Printing and building are imported on first use: a one-liner that only looks a
# type up should not pay for them.
_LAZY = {
    "BtfBuilder": "build", "LineInfo": "build", "encode_func_info": "build",
    "encode_line_info": "build", "dump_c": "cdump", "type_json": "jsonfmt",
    "type_raw": "jsonfmt", "dump_header": "cheader", "BtfExt": "ext", "CoreRelo": "ext",
    "CoreReloKind": "ext", "load_object_btf": "ext", "parse_btf_ext": "ext",
    "patch_datasecs": "fixup",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf.btf' has no attribute {name!r}")
    # __import__, not importlib (whose import costs start-up)
    return getattr(__import__(f"{__name__}.{mod}", fromlist=["_"]), name)


__all__ = [
    "Array", "Btf", "BtfBuilder", "BtfError", "BtfExt", "BtfNotFound", "Const", "CoreRelo",
    "CoreReloKind", "Datasec", "DeclTag", "Enum", "Enum64", "EnumValue", "Field", "Float", "Func",
    "FuncProto", "Fwd", "Int", "Kind", "LineInfo", "Member", "Param", "Ptr", "Restrict", "Struct",
    "Type", "TypeTag", "Typedef", "Union", "Var", "VarSecinfo", "Void", "Volatile", "dump_c",
    "dump_header", "encode_func_info", "encode_line_info", "essential_name", "find_kernel_type",
    "load_object_btf", "module_btf", "module_names", "parse_btf_ext", "patch_datasecs",
    "type_json", "type_raw", "vmlinux",
]
