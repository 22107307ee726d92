"""``pybpf map list|show ID|dump ID``: kernel maps, like bpftool (hex dumps, batch reads)."""

from __future__ import annotations

import argparse
import sys

from ._listargs import add_list_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_list_arguments(parser, ["list", "show", "dump"],
                       "[id] ID")


def run(args: argparse.Namespace) -> int:
    from ..kernel import info
    from . import _bpftool as fmt

    as_json = args.json or args.pretty
    out = sys.stdout
    if args.action == "dump":
        return _dump(fmt.parse_id(args.words, "map dump"), as_json, args.pretty)
    if args.action == "show" and args.words:
        d = info.map_by_id(fmt.parse_id(args.words, "map show"))
        out.write(fmt.dumps(fmt.map_json(d), args.pretty) + "\n" if as_json else fmt.map_plain(d))
        return 0
    maps = info.list_maps()
    if as_json:
        out.write(fmt.dumps([fmt.map_json(d) for d in maps], args.pretty) + "\n")
    else:
        out.write("".join(fmt.map_plain(d) for d in maps))
    return 0


def _dump(map_id: int, as_json: bool, pretty: bool) -> int:
    """Like bpftool map dump: every key, its value or the lookup error, then a count.

    Maps with batch support are read in a few BPF_MAP_LOOKUP_BATCH calls; others key by
    key (GET_NEXT_KEY + LOOKUP), stopping quietly where the type cannot be iterated.
    """
    import os

    from ..kernel.errors import BpfError
    from ..kernel.info import map_details
    from ..kernel.maps import KernelMap
    from ..uapi import MapType
    from . import _bpftool as fmt

    rows: list[str | dict[str, object]] = []
    found = 0
    with KernelMap.from_id(map_id) as m:
        d = map_details(m.fd)
        percpu, n = m.percpu, m.ncpus
        entries: list[tuple[bytes, bytes | None, int]] = []
        if m.supports_batch():
            entries = [(k, v, 0) for k, v in m.items_raw()]
        else:
            silent = {MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS}
            key: bytes | None = None
            while True:
                try:
                    key = m.next_key_raw(key)
                except BpfError:
                    break
                if key is None:
                    break
                value, err = m.lookup_errno(key)
                if err and not (m.type in silent and err == 2):  # ENOENT: empty slot
                    entries.append((key, None, err))
                elif not err:
                    entries.append((key, value, 0))
        btf = None
        if d.btf_id and (d.btf_key_type_id or d.btf_value_type_id):
            from ._btfdump import btf_by_id

            btf = btf_by_id(d.btf_id)
        if btf is not None and not as_json:  # bpftool prints BTF maps through its writer
            from ._btfdump import format_entry

            vt = d.btf_vmlinux_value_type_id or d.btf_value_type_id
            objs = [format_entry(btf, d.btf_key_type_id, vt, k, v, n, percpu, d.value_size,
                                 True) for k, v, _ in entries if v is not None]
            sys.stdout.write(fmt.dumps(objs, True) + "\n")
            return 0
        for k, v, err in entries:
            if v is None:
                msg = os.strerror(err)
                if as_json:
                    rows.append({"key": fmt.hexlist(k), "value": {"error": msg}})
                else:
                    rows.append(fmt.map_entry_error_plain(d, k, "<no entry>" if err == 2 else msg))
                continue
            found += 1
            if as_json:
                row = fmt.map_entry_json(d, k, v, n, percpu)
                if btf is not None:
                    from ._btfdump import format_entry

                    vt = d.btf_vmlinux_value_type_id or d.btf_value_type_id
                    row["formatted"] = format_entry(btf, d.btf_key_type_id, vt, k, v, n,
                                                    percpu, d.value_size, False)
                rows.append(row)
            else:
                rows.append(fmt.map_entry_plain(d, k, v, n, percpu))
    if as_json:
        sys.stdout.write(fmt.dumps(rows, pretty) + "\n")
    else:
        sys.stdout.write("".join(str(r) for r in rows) + fmt.found(found))
    return 0
