"""Probe specs: ``provider:target:func`` text → a typed description of what to attach.

One table maps each provider (and its short alias) to the argument counts it
accepts and the program type it compiles to, so every decision about a probe
reads the table instead of an if-chain (libbpf's SEC() table is the model).
"""

from __future__ import annotations

import re

from .._record import dataclass
from ..uapi import ProgType


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    aliases: tuple[str, ...]
    nargs: tuple[int, ...]  # accepted counts of ':'-separated arguments after the provider
    prog_type: ProgType
    nargs_text: str


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("BEGIN", (), (0,), ProgType.RAW_TRACEPOINT, "no arguments"),
    Provider("END", (), (0,), ProgType.RAW_TRACEPOINT, "no arguments"),
    Provider("tracepoint", ("t",), (2,), ProgType.TRACEPOINT, "2 arguments"),
    Provider("rawtracepoint", ("rt",), (1, 2), ProgType.RAW_TRACEPOINT, "1 or 2 arguments"),
    Provider("uprobe", ("u",), (2, 3), ProgType.KPROBE, "2 arguments"),
    Provider("uretprobe", ("ur",), (2, 3), ProgType.KPROBE, "2 arguments"),
    Provider("usdt", ("U",), (2, 3), ProgType.KPROBE, "2 or 3 arguments"),
    Provider("profile", ("p",), (2,), ProgType.PERF_EVENT, "2 arguments"),
    Provider("interval", ("i",), (2,), ProgType.PERF_EVENT, "2 arguments"),
    Provider("software", ("s",), (1, 2), ProgType.PERF_EVENT, "1 or 2 arguments"),
    Provider("hardware", ("h",), (1, 2), ProgType.PERF_EVENT, "1 or 2 arguments"),
    Provider("kprobe", ("k",), (1, 2), ProgType.KPROBE, "1 argument"),
    Provider("kretprobe", ("kr",), (1, 2), ProgType.KPROBE, "1 argument"),
    Provider("fentry", ("f", "kfunc"), (1, 2), ProgType.TRACING, "1 or 2 arguments"),
    Provider("fexit", ("fr", "kretfunc"), (1, 2), ProgType.TRACING, "1 or 2 arguments"),
    Provider("iter", ("it",), (1, 2), ProgType.TRACING, "1 or 2 arguments"),
    Provider("watchpoint", ("w",), (2, 3), ProgType.PERF_EVENT, "2 or 3 arguments"),
    Provider("asyncwatchpoint", ("aw",), (2, 3), ProgType.PERF_EVENT, "2 or 3 arguments"),
]}
ALIASES: dict[str, str] = {a: p.name for p in PROVIDERS.values() for a in p.aliases}
TIME_UNITS = {"hz": 0, "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
ITERS = ("task", "task_file", "task_vma")
SOFTWARE_EVENTS = {
    "cpu-clock": 0, "cpu": 0, "task-clock": 1, "page-faults": 2, "faults": 2,
    "context-switches": 3, "cs": 3, "cpu-migrations": 4, "migrations": 4,
    "minor-faults": 5, "major-faults": 6, "alignment-faults": 7, "emulation-faults": 8,
    "dummy": 9, "bpf-output": 10,
}


class ProbeError(Exception):
    """A malformed probe; the message is bpftrace's wording."""


@dataclass(slots=True)
class ProbeSpec:
    """What one attach point means; ``name`` is the canonical text ``probe`` prints."""

    provider: str
    target: str = ""  # tracepoint category, binary path, time unit, event name
    func: str = ""  # tracepoint/function/usdt probe name (may hold wildcards)
    offset: int = 0  # uprobe/kprobe +offset, or an address
    address: int | None = None
    freq: int = 0  # profile/interval rate value (with the unit in target)
    ns: str = ""  # usdt namespace
    raw: str = ""

    @property
    def name(self) -> str:
        if self.provider in ("BEGIN", "END"):
            return self.provider
        parts = [self.provider, self.target] if self.target else [self.provider]
        if self.ns:
            parts.append(self.ns)
        if self.func or self.provider in ("tracepoint", "uprobe", "uretprobe", "usdt"):
            parts.append(self.func + (f"+{self.offset}" if self.offset else ""))
        elif self.provider in ("profile", "interval", "software", "hardware"):
            parts.append(str(self.freq))
        return ":".join(parts)

    @property
    def wildcard(self) -> bool:
        return any(c in self.target + self.func for c in "*?[")

    @property
    def prog_type(self) -> ProgType:
        return PROVIDERS[self.provider].prog_type

    @property
    def interval_ns(self) -> int:
        """Period of an interval/profile probe in ns (0 for hz rates)."""
        return self.freq * TIME_UNITS.get(self.target, 0)


def _split(text: str) -> list[str]:
    """Split on ':' outside double quotes (quoted paths may hold ':')."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == ":" and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def _number(text: str) -> int:
    t = text.replace("_", "")
    try:
        if re.fullmatch(r"[0-9]+[eE][0-9]+", t):
            base, exp = t.lower().split("e")
            return int(base) * 10 ** int(exp)
        return int(t, 0)
    except ValueError:
        raise ProbeError("stoull") from None


def parse_probe(raw: str) -> ProbeSpec:
    """Parse one attach point; raises ``ProbeError`` with bpftrace's message."""
    parts = _split(raw)
    head = parts[0]
    if head.upper() in ("BEGIN", "END") and len(parts) == 1:
        return ProbeSpec(head.upper(), raw=raw)
    provider = ALIASES.get(head, head)
    if provider not in PROVIDERS or provider in ("BEGIN", "END"):
        raise ProbeError(f"Invalid probe type: {head}")
    info = PROVIDERS[provider]
    args = parts[1:]
    if len(args) not in info.nargs:
        raise ProbeError(f"{provider} probe type requires {info.nargs_text}")
    spec = ProbeSpec(provider, raw=raw)
    if provider == "tracepoint":
        spec.target, spec.func = args
        if not spec.target or not spec.func:
            raise ProbeError("tracepoint probe type requires 2 arguments")
    elif provider == "rawtracepoint":
        spec.func = args[-1]
        spec.target = args[0] if len(args) == 2 else ""
    elif provider in ("uprobe", "uretprobe"):
        spec.target = args[0]
        func = ":".join(args[1:])
        spec.func, spec.offset, spec.address = _func_offset(func, provider)
    elif provider == "usdt":
        spec.target = args[0]
        if len(args) == 3:
            spec.ns, spec.func = args[1], args[2]
        else:
            spec.func = args[1]
    elif provider in ("profile", "interval"):
        unit, value = args
        if unit not in TIME_UNITS or unit == "ns":
            raise ProbeError(f"{provider} unit '{unit}' is invalid (must be hz, s, ms or us)")
        spec.target, spec.freq = unit, _number(value)
    elif provider in ("software", "hardware"):
        spec.target = args[0]
        if provider == "software" and spec.target not in SOFTWARE_EVENTS:
            raise ProbeError(f"{spec.target} is not a software probe")
        spec.freq = _number(args[1]) if len(args) == 2 else 0
    elif provider in ("kprobe", "kretprobe"):
        func = args[-1]
        spec.target = args[0] if len(args) == 2 else ""
        spec.func, spec.offset, spec.address = _func_offset(func, provider)
    elif provider in ("fentry", "fexit"):
        spec.func = args[-1]
        spec.target = args[0] if len(args) == 2 else ""
    elif provider == "iter":
        spec.target = args[0]
        if spec.target not in ITERS:
            raise ProbeError(f"iter {spec.target} not available for your kernel version.")
        spec.func = args[1] if len(args) == 2 else ""
    else:
        spec.target = args[0]
        spec.func = ":".join(args[1:])
    return spec


def _func_offset(text: str, provider: str) -> tuple[str, int, int | None]:
    """``func``, ``func+0x10``, or a raw address ``0x1234``."""
    if re.fullmatch(r"(0x[0-9a-fA-F]+|[0-9]+)", text):
        return "", 0, int(text, 0)
    m = re.fullmatch(r"(.*)\+(0x[0-9a-fA-F]+|[0-9]+)", text)
    if m:
        if "*" in m.group(1):
            raise ProbeError(f"Offset not allowed with wildcard {provider} probes")
        return m.group(1), int(m.group(2), 0), None
    return text, 0, None
