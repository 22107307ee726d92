"""bpftool-compatible text and JSON for programs, maps and links (shared by the CLI commands).

Field order, spacing and JSON keys follow bpftool v7 (``bpftool prog show``,
``map show``, ``map dump``, ``link show``, ``prog dump xlated``) so output can be
compared line for line. Process references (``pids``) are not printed: the
bpftool shipped here is built without them either.
"""

from __future__ import annotations

import json
import time

from ..kernel.info import LinkDetails, MapDetails, ProgDetails
from ..uapi import AttachType, LinkType, MapType, ProgType

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def type_name(enum: Any, value: int) -> str | None:
    try:
        return str(enum(value).name.lower())
    except ValueError:
        return None


def dumps(obj: Any, pretty: bool) -> str:
    """JSON as bpftool's (iproute2's) json_writer writes it, compact or ``--pretty``.

    Pretty mode puts a newline and 4-space indent before each object member and each
    closing bracket of a non-empty container; array elements follow each other on one
    line (``},{``, ``"0x00","0x01"``). ``_btfdump.Raw`` strings are written verbatim.
    """
    from ._btfdump import Raw

    out: list[str] = []
    depth = 0
    sep = ""

    def eor() -> None:
        nonlocal sep
        if sep:
            out.append(sep)
        sep = ","

    def eol() -> None:
        if pretty:
            out.append("\n" + "    " * depth)

    def value(v: Any) -> None:
        nonlocal depth, sep
        if isinstance(v, dict | list):
            eor()
            out.append("{" if isinstance(v, dict) else "[")
            depth += 1
            sep = ""
            if isinstance(v, dict):
                for k, x in v.items():
                    eor()
                    eol()
                    sep = ""
                    out.append(json.dumps(k) + (": " if pretty else ":"))
                    value(x)
            else:
                for x in v:
                    value(x)
            depth -= 1
            if sep:
                eol()
            out.append("}" if isinstance(v, dict) else "]")
            sep = ","
        else:
            eor()
            out.append(str(v) if isinstance(v, Raw) else json.dumps(v))

    value(obj)
    return "".join(out)


def boot_to_wallclock(nsecs: int) -> int:
    """bpftool's print_boot_time: seconds since the epoch of a ns-since-boot timestamp."""
    real = time.clock_gettime_ns(time.CLOCK_REALTIME)
    boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    rs, rn = divmod(real, 1_000_000_000)
    bs, bn = divmod(boot, 1_000_000_000)
    return (rs - bs) + int((rn - bn + nsecs) / 1_000_000_000)


def _iso(secs: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(secs))


# -- programs -----------------------------------------------------------------
def prog_plain(d: ProgDetails) -> str:
    t = type_name(ProgType, d.type)
    out = f"{d.id}: " + (f"{t}  " if t else f"type {d.type}  ")
    if d.name:
        out += f"name {d.name}  "
    out += f"tag {d.tag}"
    out += "  gpl" if d.gpl_compatible else ""
    if d.run_time_ns:
        out += f" run_time_ns {d.run_time_ns} run_cnt {d.run_cnt}"
    if d.recursion_misses:
        out += f" recursion_misses {d.recursion_misses}"
    out += "\n"
    if d.load_time:
        out += f"\tloaded_at {_iso(boot_to_wallclock(d.load_time))}  uid {d.uid}\n"
    out += f"\txlated {d.xlated_len}B"
    out += f"  jited {d.jited_len}B" if d.jited_len else "  not jited"
    if d.memlock is not None:
        out += f"  memlock {d.memlock}B"
    if d.map_ids:
        out += "  map_ids " + ",".join(str(i) for i in d.map_ids)
    if d.btf_id:
        out += f"\n\tbtf_id {d.btf_id}"
    return out + "\n"


def prog_json(d: ProgDetails) -> dict[str, Any]:
    o: dict[str, Any] = {"id": d.id, "type": type_name(ProgType, d.type) or d.type}
    if d.name:
        o["name"] = d.name
    o["tag"] = d.tag
    o["gpl_compatible"] = d.gpl_compatible
    if d.run_time_ns:
        o["run_time_ns"] = d.run_time_ns
        o["run_cnt"] = d.run_cnt
    if d.recursion_misses:
        o["recursion_misses"] = d.recursion_misses
    if d.load_time:
        o["loaded_at"] = boot_to_wallclock(d.load_time)
        o["uid"] = d.uid
    o["bytes_xlated"] = d.xlated_len
    if d.jited_len:
        o["jited"] = True
        o["bytes_jited"] = d.jited_len
    else:
        o["jited"] = False
    if d.memlock is not None:
        o["bytes_memlock"] = d.memlock
    if d.map_ids:
        o["map_ids"] = list(d.map_ids)
    if d.btf_id:
        o["btf_id"] = d.btf_id
    return o


class _Annotations:
    """Function signatures and source lines to print above xlated instructions (from the
    program's BTF func_info/line_info), walked the way bpftool walks them."""

    def __init__(self, d: ProgDetails) -> None:
        from ._btfdump import btf_by_id

        self.btf = btf_by_id(d.btf_id) if d.btf_id and (d.func_info or d.line_info) else None
        self.funcs = sorted(d.func_info)
        self.lines = sorted(d.line_info)
        self.nf = 0
        self.nskip = 0

    def proto(self, i: int) -> str:
        from ._btfdump import func_signature

        if self.btf is None or self.nf >= len(self.funcs) or self.funcs[self.nf][0] != i:
            return ""
        self.nf += 1
        return func_signature(self.btf, self.funcs[self.nf - 1][1])

    def line(self, i: int) -> tuple[str, str, int, int] | None:
        """bpf_prog_linfo__lfind: the last line record at or before ``i`` once the next
        unprinted one is reached: (text, file, line, col)."""
        if self.btf is None or self.nskip >= len(self.lines) or self.lines[self.nskip][0] > i:
            return None
        k = self.nskip
        while k + 1 < len(self.lines) and self.lines[k + 1][0] <= i:
            k += 1
        self.nskip += 1
        _, file_off, line_off, col = self.lines[k]
        text = self.btf.string(line_off).lstrip()
        return text, self.btf.string(file_off), col >> 10, col & 0x3FF


def xlated_plain(d: ProgDetails, opcodes: bool = False, linum: bool = False) -> str:
    from ..kernel.xlated import disassemble

    notes = _Annotations(d)
    lines = []
    for i, text, raw in disassemble(d.xlated, d.jited_ksyms):
        sig = notes.proto(i)
        if sig:
            lines.append(f"{sig}:")
        src = notes.line(i)
        if src is not None:
            where = f" [file:{src[1]} line_num:{src[2]} line_col:{src[3]}]" if linum else ""
            lines.append(f"; {src[0]}{where}")
        lines.append(f"{i:4d}: {text}")
        if opcodes:  # each 8-byte slot on its own, as bpftool's dump_xlated_plain
            lines.append("       " + " ".join(_hex_groups(raw[j:j + 8])
                                              for j in range(0, len(raw), 8)))
    return "\n".join(lines) + ("\n" if lines else "")


def xlated_json(d: ProgDetails, opcodes: bool = False,
                linum: bool = False) -> list[dict[str, Any]]:
    from ..kernel.xlated import disassemble

    notes = _Annotations(d)
    out: list[dict[str, Any]] = []
    for i, text, raw in disassemble(d.xlated, d.jited_ksyms):
        o: dict[str, Any] = {}
        sig = notes.proto(i)
        if sig:
            o["proto"] = sig
        src = notes.line(i)
        if src is not None:
            o["src"] = src[0]
            if linum:
                o.update(file=src[1], line_num=src[2])
                if src[3]:
                    o["line_col"] = src[3]
        o["disasm"] = text
        if opcodes:
            o["opcodes"] = {"code": f"0x{raw[0]:02x}", "src_reg": f"0x{raw[1] >> 4:x}",
                            "dst_reg": f"0x{raw[1] & 15:x}", "off": hexlist(raw[2:4]),
                            "imm": hexlist(raw[4:8] + raw[8:])}
        out.append(o)
    return out


# -- maps -----------------------------------------------------------------------
def map_plain(d: MapDetails) -> str:
    t = type_name(MapType, d.type)
    out = f"{d.id}: " + (f"{t}  " if t else f"type {d.type}  ")
    if d.name:
        out += f"name {d.name}  "
    out += f"flags 0x{d.flags:x}\n"
    out += f"\tkey {d.key_size}B  value {d.value_size}B  max_entries {d.max_entries}"
    if d.memlock is not None:
        out += f"  memlock {d.memlock}B"
    if d.type == MapType.PROG_ARRAY and (d.owner_prog_type is not None
                                         or d.owner_jited is not None):
        out += "\n\t"
        if d.owner_prog_type is not None:
            pt = type_name(ProgType, d.owner_prog_type)
            out += f"owner_prog_type {pt if pt else d.owner_prog_type}  "
        if d.owner_jited is not None:
            out += "owner jited" if d.owner_jited else "owner not jited"
    frozen = d.frozen or 0
    if d.btf_id or frozen:
        out += "\n\t"
    if d.btf_id:
        out += f"btf_id {d.btf_id}"
    if frozen:
        out += ("  " if d.btf_id else "") + "frozen"
    return out + "\n"


def map_json(d: MapDetails) -> dict[str, Any]:
    o: dict[str, Any] = {"id": d.id, "type": type_name(MapType, d.type) or d.type}
    if d.name:
        o["name"] = d.name
    o.update(flags=d.flags, bytes_key=d.key_size, bytes_value=d.value_size,
             max_entries=d.max_entries)
    if d.memlock is not None:
        o["bytes_memlock"] = d.memlock
    if d.type == MapType.PROG_ARRAY:
        if d.owner_prog_type is not None:
            o["owner_prog_type"] = type_name(ProgType, d.owner_prog_type) or d.owner_prog_type
        if d.owner_jited is not None:
            o["owner_jited"] = bool(d.owner_jited)
    o["frozen"] = d.frozen or 0
    if d.btf_id:
        o["btf_id"] = d.btf_id
    return o


def _hex_groups(data: bytes) -> str:
    """bpftool's fprint_hex: bytes separated by spaces, two spaces every 8, newline every 16."""
    out = []
    for i, b in enumerate(data):
        if i and not i % 16:
            out.append("\n")
        elif i and not i % 8:
            out.append("  ")
        elif i:
            out.append(" ")
        out.append(f"{b:02x}")
    return "".join(out)


def hexlist(data: bytes) -> list[str]:
    return [f"0x{b:02x}" for b in data]


def map_entry_error_plain(d: MapDetails, key: bytes, msg: str) -> str:
    """bpftool's print_entry_error_msg: the key and why its value could not be read."""
    brk = d.key_size > 16 or len(msg) > 16
    single = d.key_size + len(msg) <= 24 and not brk
    sep = "\n" if brk else " "
    return f"key:{sep}{_hex_groups(key)}{'  ' if single else chr(10)}value:{sep}{msg}\n"


def map_entry_plain(d: MapDetails, key: bytes, value: bytes, ncpus: int, percpu: bool) -> str:
    if not percpu:
        brk = d.key_size > 16 or d.value_size > 16
        single = d.key_size + d.value_size <= 24 and not brk
        sep = "\n" if brk else " "
        return (f"key:{sep}{_hex_groups(key)}{'  ' if single else chr(10)}"
                f"value:{sep}{_hex_groups(value)}\n")
    step = (d.value_size + 7) & ~7
    out = f"key:\n{_hex_groups(key)}\n"
    for c in range(ncpus):
        sep = "\n" if d.value_size > 16 else " "
        out += f"value (CPU {c:02d}):{sep}{_hex_groups(value[c * step:c * step + d.value_size])}\n"
    return out


def map_entry_json(d: MapDetails, key: bytes, value: bytes, ncpus: int,
                   percpu: bool) -> dict[str, Any]:
    if not percpu:
        return {"key": hexlist(key), "value": hexlist(value)}
    step = (d.value_size + 7) & ~7
    return {"key": hexlist(key),
            "values": [{"cpu": c, "value": hexlist(value[c * step:c * step + d.value_size])}
                       for c in range(ncpus)]}


def found(n: int) -> str:
    return f"Found {n} element{'s' if n != 1 else ''}\n"


# -- links ----------------------------------------------------------------------
def _attach_plain(v: int) -> str:
    name = type_name(AttachType, v)
    return f"attach_type {name}  " if name else f"attach_type {v}  "


def link_plain(d: LinkDetails) -> str:
    t = type_name(LinkType, d.type)
    out = f"{d.id}: " + (f"{t}  " if t else f"type {d.type}  ") + f"prog {d.prog_id}  "
    r = d.raw
    if d.type == LinkType.RAW_TRACEPOINT:
        out += f"\n\ttp '{d.name}'  "
    elif d.type == LinkType.TRACING:
        out += "\n\t" + _attach_plain(int(r.tracing.attach_type))
    elif d.type == LinkType.CGROUP:
        out += f"\n\tcgroup_id {int(r.cgroup.cgroup_id)}  "
        out += _attach_plain(int(r.cgroup.attach_type))
    elif d.type == LinkType.ITER:
        out += f"\n\ttarget_name {d.name}  "
    elif d.type == LinkType.NETNS:
        out += f"\n\tnetns_ino {int(r.netns.netns_ino)}  " + _attach_plain(int(r.netns.attach_type))
    return out + "\n"


def link_json(d: LinkDetails) -> dict[str, Any]:
    o: dict[str, Any] = {"id": d.id, "type": type_name(LinkType, d.type) or d.type,
                         "prog_id": d.prog_id}
    r = d.raw
    if d.type == LinkType.RAW_TRACEPOINT:
        o["tp_name"] = d.name
    elif d.type == LinkType.TRACING:
        o["attach_type"] = type_name(AttachType, int(r.tracing.attach_type))
    elif d.type == LinkType.CGROUP:
        o["cgroup_id"] = int(r.cgroup.cgroup_id)
        o["attach_type"] = type_name(AttachType, int(r.cgroup.attach_type))
    elif d.type == LinkType.ITER:
        o["target_name"] = d.name
    elif d.type == LinkType.NETNS:
        o["netns_ino"] = int(r.netns.netns_ino)
        o["attach_type"] = type_name(AttachType, int(r.netns.attach_type))
    return o


def parse_id(words: Iterable[str], what: str) -> int:
    """``ID``, ``id ID`` or ``pinned PATH`` from the command's remaining words."""
    from ..errors import BadInput

    ws = [w for w in words if w != "id"]
    if not ws:
        raise BadInput(f"{what}: missing the object id (e.g. `pybpf {what} 42`)")
    if ws[0] == "pinned":
        if len(ws) < 2:
            raise BadInput(f"{what}: `pinned` needs a bpffs path")
        return _pinned_id(ws[1])
    try:
        return int(ws[0], 0)
    except ValueError:
        raise BadInput(f"{what}: {ws[0]!r} is not an id (a number)") from None


def _pinned_id(path: str) -> int:
    """The id of the program, map or link pinned at ``path``."""
    from ..kernel.info import obj_info
    from ..kernel.pin import obj_get
    from ..kernel.syscall import close_fd

    fd = obj_get(path)
    try:
        # every info struct starts with (type, id) as two u32: read just those
        from ..kernel.syscall import LinkInfo

        return int(obj_info(fd, LinkInfo).id)
    finally:
        close_fd(fd)
