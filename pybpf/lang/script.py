"""A compiled script as the runtime sees it: the spec, and what it needs to decode and
print (maps, formats, probes), plus the names and event codes the generated code and the
runtime agree on. Kept apart from ``codegen`` so that running a script (or one taken from
the compiled-script cache) does not import the compiler.
"""

from __future__ import annotations

from .._record import dataclass, field
from ..spec import CollectionSpec
from . import types as T
from .probes import ProbeSpec

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

EV_PRINTF, EV_EXIT, EV_PRINT_MAP, EV_PRINT_VALUE, EV_CLEAR, EV_ZERO = 1, 2, 3, 4, 5, 6
EV_SYSTEM, EV_TIME, EV_CAT, EV_JOIN = 7, 8, 9, 10
JOIN_ARGS, JOIN_LEN = 16, 64  # join(): up to 16 strings of up to 63 characters
MAX_ENTRIES = 4096
RINGBUF = "ringbuf"
SCRATCH = "scratch"
GLOBALS = "globals"  # [u64 start time in ns], written by the runtime before BEGIN
CPID = "cpid"  # [u64 pid of the -c child], written by the runtime (Session.set_cpid)
LOST = "lost"  # ARRAY [u64]: records ringbuf_output could not store (atomic adds)
MAPFULL = "mapfull"  # ARRAY [u64 per map id]: 1 once an update of that map hit E2BIG
E2BIG = 7  # what map_update_elem returns (negated) on a full hash map
RINGBUF_SIZE = 1 << 20
PERCPU_KINDS = {"count", "sum", "min", "max", "avg", "stats", "hist", "lhist"}
# x86-64 struct pt_regs offsets of the argument registers and the return value
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)
PT_REGS_RET = 80
PT_REGS_IP = 128
PT_REGS_SP = 152
PT_REGS = {name: 8 * i for i, name in enumerate(
    ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx",
     "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"))}
STACK_LIMIT = 512
SCRATCH_LIMIT = 32768  # PCPU_MIN_UNIT_SIZE: the largest per-CPU map value


@dataclass(slots=True)
class MapMeta:
    """What the runtime needs to read and print one script map."""

    name: str  # "@x"
    bpf_name: str
    id: int
    keys: list[T.Type]
    value: T.Type
    key_size: int
    value_size: int
    lhist: tuple[int, int, int] = (0, 0, 0)

    @property
    def kind(self) -> str:
        return self.value.kind

    @property
    def percpu(self) -> bool:
        return self.value.kind in PERCPU_KINDS


@dataclass(slots=True)
class FormatMeta:
    """A printf/system/cat format and its argument types (record layout in order)."""

    kind: str  # "printf", "system", "cat", "time"
    fmt: str
    args: list[T.Type]


@dataclass(slots=True)
class ProgramMeta:
    name: str
    probe: ProbeSpec
    probe_id: int


@dataclass(slots=True)
class CompiledScript:
    spec: CollectionSpec
    maps: dict[str, MapMeta] = field(default_factory=dict)  # by script name ("@x")
    formats: list[FormatMeta] = field(default_factory=list)
    prints: list[T.Type] = field(default_factory=list)
    probe_names: list[str] = field(default_factory=list)
    programs: list[ProgramMeta] = field(default_factory=list)
    needs_globals: bool = False
    needs_cpid: bool = False
    needs_lost: bool = False  # some program outputs records: count the ones dropped
    needs_mapfull: bool = False  # some program updates a map: report the first E2BIG
    stack_maps: dict[int, str] = field(default_factory=dict)  # frame limit -> map name
    btf: Any = None  # the types of whole structs the script prints (decoded at print time)

    def map_by_id(self, i: int) -> MapMeta:
        return next(m for m in self.maps.values() if m.id == i)

    def programs_for(self, provider: str) -> list[ProgramMeta]:
        return [p for p in self.programs if p.probe.provider == provider]
