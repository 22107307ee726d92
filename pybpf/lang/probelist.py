"""``pybpf trace -l [GLOB]``: the probes this system offers, in bpftrace's ``-l`` layout.

Names are matched whole (``tracepoint:syscalls:sys_enter_open*``, ``t:sched:*``,
``*openat*``), as bpftrace matches them. With ``verbose`` (``-lv``) each tracepoint is
followed by its arguments, one per line, indented by four spaces.
"""

from __future__ import annotations

import fnmatch

from .probes import ALIASES, SOFTWARE_EVENTS


def _normalize(pattern: str) -> str:
    head, sep, rest = pattern.partition(":")
    return ALIASES.get(head, head) + sep + rest if sep else pattern


def list_probes(pattern: str = "*", *, verbose: bool = False) -> str:
    """Every probe whose full name matches ``pattern``, one per line."""
    from ..kernel.tracefs import list_tracepoints

    pattern = _normalize(pattern)
    head = pattern.split(":", 1)[0]
    out: list[str] = []
    if fnmatch.fnmatchcase("tracepoint", head) or ":" not in pattern:
        # with an explicit provider only its categories need reading
        tp_glob = pattern.split(":", 1)[1] if pattern.startswith("tracepoint:") else "*"
        for tp in list_tracepoints(tp_glob if ":" in tp_glob else "*"):
            name = f"tracepoint:{tp}"
            if fnmatch.fnmatchcase(name, pattern):
                out.append(name)
                if verbose:
                    out.extend(_tracepoint_args(tp))
    for ev in SOFTWARE_EVENTS:
        name = f"software:{ev}:"
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name[:-1], pattern):
            out.append(name)
    return "".join(line + "\n" for line in out)


def _tracepoint_args(tp: str) -> list[str]:
    from ..kernel.tracefs import tracepoint_format

    try:
        fmt = tracepoint_format(tp)
    except Exception:  # noqa: BLE001 - a format we cannot read lists no arguments
        return []
    lines = []
    for f in fmt.args:
        decl = f.type.split("[", 1)[0].rstrip() if f.array_len is not None else f.type
        name = f.name + (f"[{f.array_len}]" if f.array_len is not None else "")
        lines.append(f"    {decl} {name}")
    return lines
