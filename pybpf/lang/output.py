"""Text and JSON output identical to bpftrace's: maps, hist/lhist, stats/avg, printf.

Values arrive already decoded (``runtime`` reads maps and events): keys as
tuples, aggregates as Python numbers or bucket dicts. ``compat="0.17"`` keeps
0.17's quirks (``%%`` printed verbatim); the default follows current bpftrace.
"""

from __future__ import annotations

import re

from .._record import dataclass

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

BAR_WIDTH = 52
_CONV = re.compile(r"%(?P<flags>[- #0]*)(?P<width>\d+)?(?:\.(?P<prec>\d+))?"
                   r"(?P<len>hh|h|ll|l|z|j|t)?(?P<conv>rx|[diouxXcspSrfegEG%])")
U64 = (1 << 64) - 1


@dataclass(slots=True)
class Stats:
    count: int
    total: int

    @property
    def average(self) -> int:
        if not self.count:
            return 0
        q = abs(self.total) // self.count
        return q if self.total >= 0 else -q


@dataclass(slots=True)
class Hist:
    """Bucket index → count; ``linear`` holds (min, max, step) for lhist."""

    buckets: dict[int, int]
    linear: tuple[int, int, int] | None = None

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


# -- printf ----------------------------------------------------------------
def format_printf(fmt: str, args: Sequence[Any], compat: str | None = None) -> str:
    """C printf semantics for the conversions bpftrace supports."""
    out: list[str] = []
    pos = 0
    it = iter(args)
    for m in _CONV.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        conv = m.group("conv")
        if conv == "%":
            out.append("%%" if compat == "0.17" else "%")
            continue
        value = next(it, 0)
        if compat == "0.17" and m.group("len") is None and isinstance(value, int):
            value = int_quirk_017(conv, value)
        spec = "%" + m.group("flags") + (m.group("width") or "")
        if m.group("prec") is not None:
            spec += "." + m.group("prec")
        out.append(_convert(spec, conv, value))
    out.append(fmt[pos:])
    return "".join(out)


def _convert(spec: str, conv: str, value: Any) -> str:
    if conv == "rx":
        data = value.data if isinstance(value, Buffer) else str(value).encode()
        return (spec + "s") % "".join(f"\\x{b:02x}" for b in data)
    if conv in "sSr":
        return (spec + "s") % (value if isinstance(value, str) else value_text(value))
    if not isinstance(value, int):
        return (spec + "s") % value_text(value)
    if conv in "di":
        return (spec + "d") % _s64(value)
    if conv == "u":
        return (spec + "d") % (value & U64)
    if conv in "xXo":
        return (spec + conv) % (value & U64)
    if conv == "c":
        return (spec + "c") % chr(value & 0xFF)
    if conv == "p":
        return (spec + "s") % f"0x{value & U64:x}"
    if conv in "feEgG":
        return (spec + conv) % value
    return (spec + "s") % value


def int_quirk_017(conv: str, value: int) -> int:
    """bpftrace 0.17 hands 64-bit values to C printf: without ``l``/``ll`` the integer
    conversions see only the low 32 bits (``%d`` of 0x1ffffffff prints -1)."""
    if conv in "di":
        v = value & 0xFFFFFFFF
        return v - (1 << 32) if v >> 31 else v
    if conv in "uxXo":
        return value & 0xFFFFFFFF
    return value


def _s64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >> 63 else v


# -- values ------------------------------------------------------------------
class Pointer(int):
    """A pointer value: printed as ``0x...`` (bpftrace prints pointers in hex)."""

    def __str__(self) -> str:
        return f"0x{self & U64:x}"

    __repr__ = __str__


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v

@dataclass(frozen=True, slots=True)
class Buffer:
    """A buf() value: printable ASCII as is, every other byte as ``\\xNN``."""

    data: bytes

    def __str__(self) -> str:
        return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in self.data)


def inet_text(af: int, raw: bytes) -> str:
    """ntop(): AF_INET (2) and AF_INET6 (10) addresses; anything else prints empty."""
    import socket

    if af == 2:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    if af == 10:
        return socket.inet_ntop(socket.AF_INET6, raw[:16].ljust(16, b"\0"))
    return ""


def strftime_text(fmt: str, nsecs: int, boot_ns: int) -> str:
    """strftime(): ``nsecs`` since boot as local time; ``%f`` is the microseconds."""
    import time

    total = boot_ns + nsecs
    fmt = fmt.replace("%f", f"{(total % 1_000_000_000) // 1000:06d}")
    return time.strftime(fmt, time.localtime(total // 1_000_000_000))


def user_name(uid: int) -> str:
    """The ``username`` builtin: the passwd name of the uid (the number if none)."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def value_text(v: Any) -> str:
    """A value as bpftrace prints it in maps and print()."""
    if isinstance(v, tuple):
        return "(" + ", ".join(value_text(x) for x in v) + ")"
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, list):
        return "[" + ",".join(value_text(x) for x in v) + "]"
    return str(v)


def key_text(key: tuple[Any, ...]) -> str:
    if not key:
        return ""
    return "[" + ", ".join(_key_part(k) for k in key) + "]"


def _key_part(k: Any) -> str:
    keyed = getattr(k, "key_text", None)  # structs print without spaces in keys
    if callable(keyed):
        return str(keyed())
    text = getattr(k, "text", None)
    return text(4) if callable(text) else value_text(k)  # stacks indent 4 in map keys


def value_json(v: Any) -> str:
    import json

    if isinstance(v, tuple):
        return "[" + ",".join(value_json(x) for x in v) + "]"
    if isinstance(v, Stats):
        return json.dumps({"count": v.count, "average": v.average, "total": v.total})
    if not isinstance(v, int | str | float | type(None)):
        return json.dumps(value_text(v))
    return json.dumps(v)


def key_json(key: tuple[Any, ...]) -> str:
    return ",".join(value_text(k) for k in key)


# -- histograms --------------------------------------------------------------
def _log2_label(power: int) -> str:
    for shift, suffix in ((60, "E"), (50, "P"), (40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if power >= shift:
            return f"{1 << (power - shift)}{suffix}"
    return str(1 << power)


def _lin_label(n: int) -> str:
    if n == 0:
        return "0"
    if n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n % 1024 == 0:
        return f"{n >> 10}K"
    return str(n)


def hist_rows(h: Hist) -> list[tuple[str, int, dict[str, int]]]:
    """(label, count, json bucket) for the buckets from the first to the last non-zero."""
    nonzero = [b for b, c in h.buckets.items() if c]
    if not nonzero:
        return []
    lo_b, hi_b = min(nonzero), max(nonzero)
    rows = []
    for b in range(lo_b, hi_b + 1):
        c = h.buckets.get(b, 0)
        if h.linear is None:
            if b == 0:
                label, js = "(..., 0)", {"max": -1}
            elif b == 1:
                label, js = "[0]", {"min": 0, "max": 0}
            elif b == 2:
                label, js = "[1]", {"min": 1, "max": 1}
            else:
                p = b - 2
                label = f"[{_log2_label(p)}, {_log2_label(p + 1)})"
                js = {"min": 1 << p, "max": (1 << (p + 1)) - 1}
        else:
            mn, mx, step = h.linear
            nb = (mx - mn) // step
            if b == 0:
                label, js = f"(..., {_lin_label(mn)})", {"max": mn - 1}
            elif b > nb:
                label, js = f"[{_lin_label(mx)}, ...)", {"min": mx}
            else:
                lo = mn + (b - 1) * step
                label = f"[{_lin_label(lo)}, {_lin_label(lo + step)})"
                js = {"min": lo, "max": lo + step - 1}
        rows.append((label, c, js))
    return rows


def hist_text(h: Hist) -> str:
    rows = hist_rows(h)
    if not rows:
        return ""
    top = max(c for _, c, _ in rows)
    lines = []
    for label, c, _ in rows:
        bar = "@" * (c * BAR_WIDTH // top) if top else ""
        lines.append(f"{label:<16}{c:>8} |{bar:<{BAR_WIDTH}}|")
    return "\n".join(lines) + "\n"


def hist_json(h: Hist) -> str:
    import json

    parts = []
    for _, c, js in hist_rows(h):
        d = dict(js)
        d["count"] = c
        parts.append(json.dumps(d))
    return "[" + ", ".join(parts) + "]"


# -- maps ----------------------------------------------------------------------
def sort_entries(kind: str, entries: list[tuple[tuple[Any, ...], Any]],
                 compat: str | None = None) -> list[tuple[tuple[Any, ...], Any]]:
    """bpftrace's order: by key, then (stably) by value; histograms by total count.
    bpftrace 0.17 compares integer keys as unsigned (negative keys sort last)."""
    unsigned = compat == "0.17"

    def keyord(e: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
        return tuple((0, k & U64 if unsigned else k) if isinstance(k, int)
                     else (1, value_text(k)) for k in e[0])

    out = sorted(entries, key=keyord)
    if kind in ("hist", "lhist"):
        return sorted(out, key=lambda e: e[1].total)
    if kind in ("avg", "stats"):
        return sorted(out, key=lambda e: e[1].average)
    if all(isinstance(v, int) for _, v in out):
        return sorted(out, key=lambda e: e[1])
    return out


def map_text(name: str, kind: str, entries: list[tuple[tuple[Any, ...], Any]],
             top: int = 0, div: int = 1, compat: str | None = None) -> str:
    """One map in bpftrace's text layout (empty string for an empty map)."""
    entries = sort_entries(kind, entries, compat)
    if top:
        entries = entries[-top:]
    if not entries:  # bpftrace prints an empty line for an empty map
        return "\n\n" if kind in ("stats", "avg") else "\n"
    if kind in ("hist", "lhist"):
        return "".join(f"{name}{key_text(k)}: \n{hist_text(v)}\n" for k, v in entries)
    lines = []
    for k, v in entries:
        if kind == "stats":
            text = f"count {v.count}, average {v.average // div}, total {v.total // div}"
        elif kind == "avg":
            text = str(v.average // div)
        elif isinstance(v, Pointer):  # 0.17 prints a pointer value's low 32 bits, signed
            text = str(_s32(v)) if compat == "0.17" else str(v)
        elif isinstance(v, int):
            text = str(v // div if div > 1 else v)
        else:
            text = value_text(v)
        lines.append(f"{name}{key_text(k)}: {text}\n")
    tail = "\n" if kind in ("stats", "avg") else ""
    return "".join(lines) + tail


def map_json(name: str, kind: str, entries: list[tuple[tuple[Any, ...], Any]],
             top: int = 0, div: int = 1, compat: str | None = None) -> str:
    """One map as bpftrace's NDJSON line (without the newline)."""
    import json

    entries = sort_entries(kind, entries, compat)
    if top:
        entries = entries[-top:]
    typ = {"hist": "hist", "lhist": "hist", "stats": "stats", "avg": "stats"}.get(kind, "map")

    def enc(v: Any) -> str:
        if typ == "hist":
            return hist_json(v)
        if kind == "avg":
            return json.dumps(v.average // div)
        if kind == "stats":
            return json.dumps({"count": v.count, "average": v.average // div,
                               "total": v.total // div})
        return value_json(v // div if isinstance(v, int) and div > 1 else v)
    if entries and not entries[0][0]:
        body = enc(entries[0][1])
    else:
        body = "{" + ", ".join(f"{json.dumps(key_json(k))}: {enc(v)}" for k, v in entries) + "}"
    return f'{{"type": "{typ}", "data": {{{json.dumps(name)}: {body}}}}}'


def attaching_text(n: int) -> str:
    return f"Attaching {n} probe{'s' if n != 1 else ''}...\n"


def attaching_json(n: int) -> str:
    return f'{{"type": "attached_probes", "data": {{"probes": {n}}}}}'


def printf_json(text: str) -> str:
    import json

    return f'{{"type": "printf", "data": {json.dumps(text)}}}'


def value_event_json(v: Any) -> str:
    return f'{{"type": "value", "data": {value_json(v)}}}'
