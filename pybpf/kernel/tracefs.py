"""tracefs: where it is (mounting it if needed), tracepoint ids, lists and formats.

A tracepoint program reads the raw record the format file describes; links
need the numeric id. Both come from ``events/<category>/<name>/``.
"""

from __future__ import annotations

import functools
import os

from .._record import dataclass
from ..errors import PybpfError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


def _has_events(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "events"))


@functools.cache
def root() -> str:
    """The tracefs mount point; mounts tracefs on /sys/kernel/tracing when it is empty."""
    for path in CANDIDATES:
        if _has_events(path):
            return path
    path = CANDIDATES[0]
    if os.path.isdir(path) and os.geteuid() == 0:
        import subprocess  # rare: most systems mount tracefs at boot

        subprocess.run(["mount", "-t", "tracefs", "nodev", path], capture_output=True)
        if _has_events(path):
            return path
    raise PybpfError(f"tracefs is not mounted: run `mount -t tracefs nodev {path}` as root")


def split_name(name: str) -> tuple[str, str]:
    """``syscalls:sys_enter_getpid`` or ``syscalls/sys_enter_getpid`` → (category, event)."""
    for sep in (":", "/"):
        if sep in name:
            cat, _, ev = name.partition(sep)
            if cat and ev:
                return cat, ev
    raise PybpfError(f"tracepoint {name!r}: write it as category:name, "
                     "e.g. syscalls:sys_enter_openat")


def event_dir(name: str) -> str:
    cat, ev = split_name(name)
    return os.path.join(root(), "events", cat, ev)


def _event_file(name: str, file: str) -> str:
    """The text of ``events/<category>/<name>/<file>``; a missing tracepoint is one line."""
    try:
        with open(os.path.join(event_dir(name), file)) as f:
            return f.read()
    except FileNotFoundError:
        raise PybpfError(f"tracepoint {name!r} does not exist "
                         "(list them with `pybpf tracepoints 'category:*'`)") from None


def tracepoint_id(name: str) -> int:
    """The id perf_event_open takes as ``config`` for tracepoint ``category:name``."""
    return int(_event_file(name, "id"))


# ftrace's own events (function, print, ...) have ids but perf cannot attach to them
UNATTACHABLE = frozenset({"ftrace"})


def categories() -> list[str]:
    base = os.path.join(root(), "events")
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))


def list_tracepoints(pattern: str = "*") -> list[str]:
    """``category:name`` of every tracepoint matching a shell glob (``syscalls:sys_enter_*``)."""
    if ":" in pattern or "/" in pattern:
        cat_pat, ev_pat = split_name(pattern)
    else:
        cat_pat, ev_pat = pattern, "*"
        if pattern != "*":  # a bare word matches either part
            cat_pat, ev_pat = "*", pattern
    from fnmatch import fnmatchcase  # here: it imports `re`

    base = os.path.join(root(), "events")
    out: list[str] = []
    for cat in categories():
        if cat in UNATTACHABLE or not fnmatchcase(cat, cat_pat):
            continue
        try:
            names = os.listdir(os.path.join(base, cat))
        except OSError:
            continue
        for ev in names:
            if fnmatchcase(ev, ev_pat) and os.path.exists(
                    os.path.join(base, cat, ev, "id")):
                out.append(f"{cat}:{ev}")
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a tracepoint record, as the format file gives it."""

    name: str
    type: str  # C type without the name: "const char *", "unsigned long", "char[16]"
    offset: int
    size: int
    signed: bool
    array_len: int | None = None  # char comm[16] -> 16
    data_loc: bool = False  # __data_loc: a u32 (len << 16 | offset) to data in the record
    common: bool = False
    decl: str = ""  # the declaration as the format file writes it ("char comm[16]")

    @property
    def is_string(self) -> bool:
        base = self.type.replace("const ", "")
        return base.startswith("char") and (self.data_loc or self.array_len is not None)


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    id: int
    fields: tuple[Field, ...]
    print_fmt: str

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        have = ", ".join(f.name for f in self.fields if not f.common)
        raise PybpfError(f"tracepoint {self.name} has no field {name!r} (fields: {have})")

    @property
    def args(self) -> tuple[Field, ...]:
        """The event's own fields (without ``common_*``)."""
        return tuple(f for f in self.fields if not f.common)


_FIELD_RE = (r"field:(?P<decl>[^;]*);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);"
             r"(?:\s*signed:(?P<sg>\d+);)?")
_DECL_RE = r"^(?P<type>.*?)\s*\b(?P<name>[A-Za-z_]\w*)\s*(?:\[(?P<len>[^\]]*)\])?$"


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    """``re`` is imported on first use only: it costs every process ~3 ms of start-up."""
    import re

    return re.compile(pattern)


def parse_field_decl(decl: str) -> tuple[str, str, int | None, bool]:
    """``__data_loc char[] name`` / ``char comm[16]`` → (type, name, array_len, data_loc)."""
    decl = decl.strip()
    data_loc = decl.startswith("__data_loc ")
    if data_loc:
        decl = decl[len("__data_loc "):]
    m = _regex(_DECL_RE).match(decl)
    if not m:
        return decl, decl, None, data_loc
    ctype, name, alen = m.group("type"), m.group("name"), m.group("len")
    # "__data_loc char[] name": the brackets sit on the type, not the name
    if ctype.endswith("[]"):
        ctype = ctype[:-2].rstrip()
    array_len = None
    if alen is not None:
        try:
            array_len = int(alen, 0)
        except ValueError:
            array_len = None
        ctype = f"{ctype}[{alen}]"
    return ctype, name, array_len, data_loc


def parse_format(text: str, name: str = "") -> Format:
    """Parse the text of an ``events/<cat>/<ev>/format`` file."""
    fmt_name = name
    tp_id = -1
    fields: list[Field] = []
    print_fmt = ""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("name:") and not fmt_name:
            fmt_name = s[5:].strip()
        elif s.startswith("ID:"):
            tp_id = int(s[3:])
        elif s.startswith("print fmt:"):
            print_fmt = s[len("print fmt:"):].strip()
        elif s.startswith("field:"):
            m = _regex(_FIELD_RE).search(s)
            if not m:
                raise PybpfError(f"tracepoint {fmt_name}: cannot parse format line {s!r}")
            ctype, fname, alen, loc = parse_field_decl(m.group("decl"))
            fields.append(Field(fname, ctype, int(m.group("off")), int(m.group("size")),
                                m.group("sg") == "1", alen, loc, fname.startswith("common_"),
                                m.group("decl").strip()))
    return Format(fmt_name, tp_id, tuple(fields), print_fmt)


def tracepoint_format(name: str) -> Format:
    """The parsed format of tracepoint ``category:name``."""
    text = _event_file(name, "format")
    cat, ev = split_name(name)
    return parse_format(text, f"{cat}:{ev}")


def read_data_loc(record: bytes, field: Field) -> bytes:
    """The bytes a ``__data_loc`` field points at inside a raw record."""
    word = int.from_bytes(record[field.offset:field.offset + 4], "little")
    off, length = word & 0xFFFF, word >> 16
    return record[off:off + length]
