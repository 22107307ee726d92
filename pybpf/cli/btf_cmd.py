"""``pybpf btf``: print kernel or object BTF types, like ``bpftool btf dump``.

    pybpf btf dump                                  every vmlinux type, raw format
    pybpf btf dump --type task_struct               one type as C
    pybpf btf dump --format c > vmlinux.h           every type as one C header
    pybpf btf dump --type task_struct --json        as bpftool -j prints it
    pybpf btf dump --file prog.bpf.o --format raw   an object's .BTF section
    pybpf btf dump --btf-id 42 --format c           a BTF object loaded in the kernel
    pybpf btf member task_struct real_parent.pid    offset and type of a member path
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import BadInput, PybpfError

_FORMATS = ("c", "raw")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="btf_command", metavar="SUBCOMMAND")
    d = sub.add_parser("dump", help="print types (raw, C or JSON)")
    d.add_argument("--file", help="BTF file or object with a .BTF section "
                   "(default /sys/kernel/btf/vmlinux)")
    d.add_argument("--btf-id", type=int, metavar="ID",
                   help="a BTF object loaded in the kernel (like bpftool btf dump id ID)")
    d.add_argument("--base", help="base BTF for a split BTF file (module BTF defaults to vmlinux)")
    d.add_argument("--type", dest="type_name", metavar="NAME", help="only types with this name")
    d.add_argument("--kind", help="only this kind (struct, union, enum, typedef, func, ...)")
    d.add_argument("--id", type=int, help="only the type with this id")
    d.add_argument("--format", choices=_FORMATS,
                   help="c (default with --type/--id; for a whole BTF: a vmlinux.h) "
                   "or raw (default for a whole BTF)")
    d.add_argument("--json", action="store_true", help="print JSON like bpftool -j")
    m = sub.add_parser("member", help="offset and type of a member path")
    m.add_argument("root", help="struct, union or typedef name (e.g. task_struct)")
    m.add_argument("path", help="member path, e.g. real_parent.pid or mm->arg_start")
    m.add_argument("--file", help="BTF file (default /sys/kernel/btf/vmlinux)")
    m.add_argument("--json", action="store_true", help="print JSON")


def _from_kernel(btf_id: int):  # type: ignore[no-untyped-def]
    """Fetch a loaded BTF object's blob (module BTF is split over vmlinux)."""
    import ctypes

    from ..btf import Btf, vmlinux
    from ..kernel import info as info_mod
    from ..kernel import syscall as sc

    fd = info_mod.fd_by_id("btf", btf_id)  # checks the id's range
    try:
        size = int(info_mod.obj_info(fd, sc.BtfInfo).btf_size)
        blob = ctypes.create_string_buffer(size)
        name = ctypes.create_string_buffer(64)
        info = info_mod.obj_info(fd, sc.BtfInfo, sc.BtfInfo(
            btf=sc.addr_of(blob), btf_size=size, name=sc.addr_of(name), name_len=len(name)))
    finally:
        sc.close_fd(fd)
    label = name.value.decode() or f"btf id {btf_id}"
    base = vmlinux() if info.kernel_btf and label != "vmlinux" else None
    return Btf(blob.raw[:int(info.btf_size)], base=base, name=label)


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..btf import Btf, vmlinux

    if getattr(args, "btf_id", None) is not None:
        if args.file:
            raise BadInput("give either --file or --btf-id, not both")
        return _from_kernel(args.btf_id)
    path = args.file
    if path is None:
        return vmlinux()
    base = None
    if getattr(args, "base", None):
        base = Btf.from_file(args.base)
    elif os.path.dirname(os.path.abspath(path)) == "/sys/kernel/btf" \
            and os.path.basename(path) != "vmlinux":
        base = vmlinux()
    return Btf.from_file(path, base=base)


def _kind(name: str | None):  # type: ignore[no-untyped-def]
    from ..btf import Kind

    if name is None:
        return None
    try:
        return Kind[name.upper().replace("-", "_")]
    except KeyError:
        kinds = ", ".join(k.name.lower() for k in Kind if k != Kind.UNKN)
        raise BadInput(f"unknown BTF kind {name!r}; use one of: {kinds}") from None


def _dump(args: argparse.Namespace) -> int:
    from ..btf import dump_c, type_json
    from ..btf.jsonfmt import type_raw

    btf = _open(args)
    kind = _kind(args.kind)
    if args.id is not None:
        btf.type(args.id)  # validates the id
        ids = [args.id]
    elif args.type_name:
        ids = btf.find_all(args.type_name, kind)
        if not ids:
            what = f"{kind.name.lower()} " if kind is not None else ""
            raise PybpfError(f"{btf.name}: no {what}type named {args.type_name!r}; "
                             "check the spelling (names are case-sensitive)")
    else:
        ids = [i for i in range(btf.start_id, btf.nr_types)
               if kind is None or btf.kind_of(i) == kind]
    out = sys.stdout
    if args.json:
        json.dump({"types": [type_json(btf, i) for i in ids]}, out)
        out.write("\n")
        return 0
    whole = args.id is None and not args.type_name
    fmt = args.format or ("raw" if whole else "c")
    if fmt == "raw":
        for i in ids:
            out.write(type_raw(btf, i) + "\n")
        return 0
    if whole:
        if kind is not None:
            raise BadInput("--format c of a whole BTF cannot be limited to one --kind; "
                           "use --type NAME or --format raw")
        from ..btf.cheader import dump_header

        out.write(dump_header(btf))  # vmlinux.h, as bpftool writes it
        return 0
    out.write("\n".join(dump_c(btf, i) for i in ids))
    return 0


def _member(args: argparse.Namespace) -> int:
    btf = _open(args)
    f = btf.member_path(args.root, args.path)
    info = {
        "root": args.root, "path": args.path, "offset": f.offset, "bit_offset": f.bit_offset,
        "bitfield_size": f.bitfield_size, "size": btf.size(f.type) if not f.bitfield_size else 0,
        "type": btf.type_name(f.type), "type_id": f.type, "derefs": list(f.derefs),
    }
    if args.json:
        print(json.dumps(info))
        return 0
    via = "".join(f"*(+{d}) -> " for d in f.derefs)
    if f.bitfield_size:
        size = f"bitfield of {f.bitfield_size} bits at bit {f.bit_offset % 8}"
    else:
        size = f"size {info['size']}"
    print(f"{args.root}.{args.path}: {via}offset {f.offset}, {size}, type {info['type']}")
    return 0


def run(args: argparse.Namespace) -> int:
    cmd = getattr(args, "btf_command", None)
    if cmd == "dump":
        return _dump(args)
    if cmd == "member":
        return _member(args)
    raise BadInput("usage: pybpf btf {dump,member} ... (see pybpf btf --help)")
