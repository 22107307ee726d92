"""The bpf_conformance plugin (``python -m pybpf.conformance``) and its data-file format.

Plugin contract of the public bpf_conformance runner: the program arrives on stdin as one
line of hex bytes (whitespace between bytes is free); the first argument, when it does not
start with ``--``, holds the input memory the same way (r1 points at a writable copy, r2
holds its length). On success the plugin prints the final r0 in hex and exits 0; on
failure it prints one line and exits 1 (2 for bad arguments). Options: ``--interpret``
(the default and only engine), ``--budget N`` (instruction budget), ``--debug`` (a line on
stderr with the program and memory sizes). ``--elf`` input is refused with a clear message.

Helpers are the ones the uBPF test harness registers, which the suite's call/callx tests
expect: 0 gather_bytes, 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind (returns r1;
when that is 0 the program stops with r0 = 0). ``callx`` takes a helper id in the
register (or a function address made by ``lddw`` src=4).

The data-file format (``-- asm``, ``-- raw``, ``-- mem``, ``-- result``, ``-- error``, and
``-- map`` for cases that use maps) is parsed by ``parse_data_file`` as the runner parses
it, and ``run_case`` runs a case through the same code path as the plugin, so our own
tests in tests/data exercise exactly what the suite exercises.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from .errors import BadInput, PybpfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO, Any

DEFAULT_BUDGET = 1_000_000
M64 = (1 << 64) - 1


# -- helpers the suite expects (uBPF test-harness semantics) ----------------------
def _gather_bytes(vm: Any, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return ((r1 & 0xFF) << 32) | ((r2 & 0xFF) << 24) | ((r3 & 0xFF) << 16) \
        | ((r4 & 0xFF) << 8) | (r5 & 0xFF)


def _memfrob(vm: Any, r1: int, r2: int, *_: int) -> int:
    view = vm.mem.view(r1, r2, write=True)
    view[:] = bytes(b ^ 42 for b in view)  # helper-sized buffers: a loop is fine here
    return 0


def _no_op(vm: Any, *_: int) -> int:
    return 0


def _sqrti(vm: Any, r1: int, *_: int) -> int:
    return math.isqrt(r1 & M64) & 0xFFFFFFFF


def _strcmp_ext(vm: Any, r1: int, r2: int, *_: int) -> int:
    a, b = vm.mem.cstr(r1, 1 << 16), vm.mem.cstr(r2, 1 << 16)
    for x, y in zip(a, b, strict=False):
        if x != y:
            return (x - y) & M64
    return (len(a) - len(b)) & M64 if len(a) != len(b) else 0


def _unwind(vm: Any, r1: int, *_: int) -> int:
    if r1 == 0:
        from .vm.helpers import ProgramExit

        raise ProgramExit(0)
    return r1


CONFORMANCE_HELPERS = {0: _gather_bytes, 1: _memfrob, 2: _no_op, 3: _sqrti, 4: _strcmp_ext,
                       5: _unwind}


# -- running one program ---------------------------------------------------------
def parse_hex(text: str, what: str) -> bytes:
    """Space-separated hex bytes → bytes (one ``bytes.fromhex`` call, no per-byte loop)."""
    try:
        return bytes.fromhex(text)
    except ValueError as e:
        raise BadInput(f"{what}: not space-separated hex bytes ({e})") from None


def run_bytes(program: bytes, memory: bytes = b"", *, budget: int = DEFAULT_BUDGET) -> int:
    """Run raw instruction bytes on ``memory`` as the plugin does; returns r0 (unsigned).

    Raises PybpfError (DecodeError, VmError) with one line naming the instruction.
    """
    from .asm.insn import decode

    insns = decode(program)
    if not insns:
        raise BadInput("the program is empty")
    return run_insns(insns, memory, budget=budget)


def run_insns(insns: list[Any], memory: bytes = b"", *, budget: int = DEFAULT_BUDGET) -> int:
    from .spec import ProgramSpec
    from .uapi import ProgType

    prog_cls = _program_class()
    spec = ProgramSpec("conformance", ProgType.UNSPEC, list(insns))
    prog = prog_cls(spec, budget=budget, helpers=CONFORMANCE_HELPERS)
    return int(prog.run(bytearray(memory))) & M64


_PROGRAM_CLASS: Any = None


def _program_class() -> Any:
    """A VmProgram whose callx also accepts a helper id (the uBPF meaning of callx)."""
    global _PROGRAM_CLASS
    if _PROGRAM_CLASS is None:
        from .vm.memory import FUNC_RID
        from .vm.program import VmProgram

        class ConformanceProgram(VmProgram):
            def callx(self, target: int, r1: int, r2: int, r3: int, r4: int, r5: int,
                      d: int, n: int, idx: int) -> tuple[int, int]:
                if target >> 32 != FUNC_RID and target in self.helpers:
                    self.pc = idx
                    return self.helpers[target].fn(self, r1, r2, r3, r4, r5) & M64, n
                return super().callx(target, r1, r2, r3, r4, r5, d, n, idx)

        _PROGRAM_CLASS = ConformanceProgram
    return _PROGRAM_CLASS


# -- the plugin command line -----------------------------------------------------
USAGE = ("usage: python -m pybpf.conformance [MEMORY_HEX] [--interpret] [--budget N] [--debug]"
         "  (program as hex bytes on stdin)")


@dataclass
class PluginArgs:
    memory: bytes = b""
    budget: int = DEFAULT_BUDGET
    debug: bool = False


def parse_args(argv: Sequence[str]) -> PluginArgs:
    """The runner passes memory first (only when there is some), then plugin options."""
    args = PluginArgs()
    it = iter(argv)
    first = True
    for a in it:
        if not a.strip():
            first = False
            continue  # older runners pass an empty memory / options argument
        if first and not a.startswith("--"):
            args.memory = parse_hex(a, "input memory (first argument)")
        elif a in ("--interpret", "--interpreter"):
            pass
        elif a == "--jit":
            raise BadInput("--jit: the pybpf vm has no JIT; use --interpret")
        elif a == "--elf":
            raise BadInput("--elf: ELF input is not supported by this plugin; run the suite "
                           "without --elf")
        elif a == "--debug":
            args.debug = True
        elif a == "--budget" or a.startswith("--budget="):
            value = a.partition("=")[2] or next(it, "")
            try:
                args.budget = int(value, 0)
            except ValueError:
                raise BadInput(f"--budget needs a number, not {value!r}") from None
        elif a in ("-h", "--help"):
            raise BadInput(USAGE)
        else:
            raise BadInput(f"unknown option {a!r}; {USAGE}")
        first = False
    return args


def main(argv: Sequence[str] | None = None, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None) -> int:
    """Run the plugin; returns the exit status (0 ok, 1 program error, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else argv
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        args = parse_args(argv)
        program = parse_hex(stdin.read(), "program on stdin")
        if args.debug:
            sys.stderr.write(f"pybpf.conformance: {len(program) // 8} instruction slots, "
                             f"{len(args.memory)} bytes of memory\n")
        r0 = run_bytes(program, args.memory, budget=args.budget)
    except PybpfError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        stdout.write(msg + "\n")
        return e.exit_code
    stdout.write(f"{r0:x}\n")
    return 0


# -- data files (-- asm / -- raw / -- mem / -- result / -- error) -------------------
@dataclass
class DataCase:
    """One test file: the program (assembly or raw u64 slots), memory, expectation."""

    name: str
    asm: str = ""
    raw: list[int] | None = None
    memory: bytes = b""
    result: int | None = None
    error: str | None = None
    maps: list[Any] = field(default_factory=list)  # MapSpecs from a "-- map" section


def parse_data_file(text: str, name: str = "<data>") -> DataCase:
    """Parse a data file the way the bpf_conformance runner does.

    A line containing ``--`` switches section by keyword (asm, result, mem, raw, map,
    error); ``-- c`` and ``-- no register offset`` sections are ignored; ``#`` starts a
    comment in assembly and map lines; blank lines are skipped. A ``-- map`` line is
    ``name type key_size value_size max_entries`` (type as the BPF_MAP_TYPE_* number).
    """
    case = DataCase(name)
    state = "ignore"
    asm_lines: list[str] = []
    mem_parts: list[str] = []
    raw_parts: list[str] = []
    result_text = ""
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if "--" in line:
            for key in ("asm", "result", "mem", "raw", "map"):
                if key in line:
                    state = key
                    break
            else:
                if "no register offset" in line or " c" in line:
                    state = "ignore"
                elif "error" in line:
                    state = "error"
                    case.error = case.error or ""
                else:
                    raise BadInput(f"{name}:{lineno}: unknown section {line.strip()!r}")
            continue
        if not line.strip():
            continue
        if state == "asm":
            asm_lines.append(line.split("#", 1)[0])
        elif state == "result":
            result_text = line.strip()
        elif state == "mem":
            mem_parts.append(line)
        elif state == "error":
            case.error = line.strip()
        elif state == "raw":
            raw_parts.append(line)
        elif state == "map" and line.split("#", 1)[0].strip():
            case.maps.append(_map_line(line, f"{name}:{lineno}"))
    case.asm = "\n".join(asm_lines)
    if raw_parts:
        case.raw = [int(w, 0) & M64 for w in " ".join(raw_parts).split()]
    if mem_parts:
        case.memory = parse_hex(" ".join(mem_parts), f"{name}: -- mem")
    if result_text:
        case.result = int(result_text, 16 if "0x" in result_text else 10) & M64
    if case.result is None and not case.error:
        raise BadInput(f"{name}: no -- result and no -- error section")
    return case


def _map_line(line: str, where: str) -> Any:
    from .spec import MapSpec
    from .uapi import MapType

    words = line.split("#", 1)[0].split()
    try:
        name, mtype, key, value, entries = words[0], *(int(w, 0) for w in words[1:])
        return MapSpec(name, MapType(mtype), key, value, entries)
    except ValueError:
        raise BadInput(f"{where}: a map line is 'name type key_size value_size "
                       f"max_entries', not {line.strip()!r}") from None


def case_program(case: DataCase) -> bytes:
    """The instruction bytes of a case: its raw slots, or its assembly assembled."""
    if case.raw is not None:
        return b"".join(v.to_bytes(8, "little") for v in case.raw)
    from .asm.assembler import assemble
    from .asm.insn import encode

    return encode(assemble(case.asm, case.name))


def run_case(case: DataCase, *, budget: int = DEFAULT_BUDGET) -> tuple[int | None, str | None]:
    """(r0, None) on success or (None, error line) — through the plugin's own code path."""
    try:
        if case.maps:
            return _run_with_maps(case, budget), None
        program = case_program(case)
    except PybpfError as e:
        return None, str(e)
    try:
        return run_bytes(program, case.memory, budget=budget), None
    except PybpfError as e:
        return None, str(e)


def _run_with_maps(case: DataCase, budget: int) -> int:
    """Cases with maps refer to them by name; the raw-bytes plugin path cannot carry them.
    They call kernel helpers (bpf_map_lookup_elem is 1), so the uBPF table is not used."""
    from .asm.assembler import assemble_program
    from .spec import ProgramSpec
    from .uapi import ProgType
    from .vm.maps import create_map

    asm = assemble_program(case.asm, case.name)
    maps = {spec.name: create_map(spec) for spec in case.maps}
    spec = ProgramSpec("conformance", ProgType.UNSPEC, asm.insns, map_refs=asm.map_refs)
    prog = _program_class()(spec, maps, budget=budget)
    return int(prog.run(bytearray(case.memory))) & M64


if __name__ == "__main__":
    sys.exit(main())
