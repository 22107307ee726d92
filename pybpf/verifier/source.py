"""Programs to verify from files: assembly with a directive header, or raw bytecode.

An assembly file may declare, in ``;`` comments before or among its lines::

    ; rule: null_check                  the rule a corpus program exercises
    ; type: xdp                         program type (see ``prog_type_of``)
    ; map: counts hash 4 8 16           name, type, key size, value size, max entries
    ; map: locked array 4 16 1 spin_lock=0 flags=0
    ; verdict: reject                   expected outcome (the corpus checks it)
    ; error: may be null                words the rejection reason must contain
    ; kernel: accept                    the kernel's verdict, where it differs on purpose
    ; budget: 20000                     instructions to process before giving up (tests)

Map loads name their map: ``r1 = map_fd(counts)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput
from ..spec import MapSpec, ProgramSpec
from ..uapi import MapType, ProgType

_DIRECTIVE = re.compile(
    r"^\s*;\s*(type|map|verdict|error|kernel|license|strict|budget|rule)\s*:\s*(.*)$")


@dataclass(frozen=True)
class ValueLayout:
    """What the verifier must know of a map value without BTF: where its spin lock is."""

    spin_lock_off: int | None = None


@dataclass
class Program:
    spec: ProgramSpec
    maps: dict[str, MapSpec]
    verdict: str | None = None  # "accept" / "reject"
    errors: list[str] = field(default_factory=list)
    kernel: str | None = None
    strict: bool = True
    budget: int | None = None
    rule: str = ""


def load_text(text: str, filename: str, prog_type: str | None = None) -> Program:
    from ..asm.assembler import assemble_program
    from .api import prog_type_of

    ptype: ProgType | None = None
    maps: dict[str, MapSpec] = {}
    verdict = kernel = None
    errors: list[str] = []
    lic = "GPL"
    strict = True
    budget: int | None = None
    rule = ""
    for n, line in enumerate(text.splitlines(), 1):
        m = _DIRECTIVE.match(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        where = f"{filename}:{n}"
        if key == "type":
            ptype = prog_type_of(val)
        elif key == "map":
            ms = _map(val, where)
            maps[ms.name] = ms
        elif key == "verdict":
            verdict = _verdict(val, where)
        elif key == "kernel":
            kernel = _verdict(val, where)
        elif key == "error":
            errors.append(val)
        elif key == "license":
            lic = val
        elif key == "rule":
            rule = val
        elif key == "budget":
            budget = int(val, 0)
        elif key == "strict":
            strict = val.lower() not in ("no", "false", "0")
    if prog_type is not None:
        ptype = prog_type_of(prog_type)
    asm = assemble_program(text, filename)
    spec = ProgramSpec(Path(filename).stem, ptype or ProgType.SOCKET_FILTER, asm.insns,
                       license=lic, map_refs=asm.map_refs, source_map=asm.source_map)
    return Program(spec, maps, verdict, errors, kernel, strict, budget, rule)


def load_object(path: Path, section: str | None, prog_type: str | None = None) -> Program:
    """One program of a clang-built object: the one in ``section`` (or named so)."""
    from ..elf import load_collection_spec
    from .api import prog_type_of

    obj = load_collection_spec(str(path))
    progs = list(obj.programs.values())
    if section is not None:
        progs = [ps for ps in progs if section in (ps.section, ps.name)]
    if len(progs) != 1:
        have = ", ".join(f"{ps.section} ({ps.name})" for ps in obj.programs.values())
        what = f"no program in section {section!r}" if section is not None and not progs \
            else "several programs"
        raise BadInput(f"{path}: {what}; pick one with --section (sections: {have})")
    spec = progs[0]
    if prog_type is not None:
        spec = spec.copy()
        spec.type = prog_type_of(prog_type)
    return Program(spec, dict(obj.maps))


def load_file(path: str | Path, prog_type: str | None = None,
              section: str | None = None) -> Program:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise BadInput(f"{p}: {e.strerror}") from None
    if raw[:4] == b"\x7fELF":
        return load_object(p, section, prog_type)
    if p.suffix in (".bin", ".o") or b"\0" in raw[:64]:
        from ..asm.insn import decode
        from .api import prog_type_of

        insns = decode(raw, validate=False)
        ptype = prog_type_of(prog_type) if prog_type else ProgType.SOCKET_FILTER
        return Program(ProgramSpec(p.stem, ptype, insns), {})
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise BadInput(f"{p}: neither assembly text nor bytecode (.bin)") from None
    return load_text(text, str(p), prog_type)


def _verdict(val: str, where: str) -> str:
    v = val.split()[0].lower() if val else ""
    if v in ("accept", "accepted", "ok"):
        return "accept"
    if v in ("reject", "rejected"):
        return "reject"
    raise BadInput(f"{where}: verdict must be 'accept' or 'reject', not {val!r}")


def _map(val: str, where: str) -> MapSpec:
    parts = val.split()
    if len(parts) < 5:
        raise BadInput(f"{where}: write 'map: NAME TYPE KEY_SIZE VALUE_SIZE MAX_ENTRIES'")
    name, mtype = parts[0], parts[1]
    try:
        t = MapType[mtype.upper()]
        k, v, e = (int(x, 0) for x in parts[2:5])
    except (KeyError, ValueError):
        raise BadInput(f"{where}: bad map declaration {val!r}") from None
    opts = dict(p.split("=", 1) for p in parts[5:] if "=" in p)
    lock = int(opts["spin_lock"], 0) if "spin_lock" in opts else None
    flags = int(opts.get("flags", "0"), 0)
    return MapSpec(name, t, k, v, e, flags, value_type=ValueLayout(lock) if lock is not None
                   else None)
