"""USDT probes: the ``.note.stapsdt`` notes of a binary and their argument specs.

Each note gives the probe's address, the link-time address of
``.stapsdt.base`` (to undo prelinking), an optional semaphore and an argument
string like ``-4@%eax 8@-16(%rbp) 4@$5``.
"""

from __future__ import annotations

import re
import struct

from .._record import dataclass
from ..errors import BadInput
from .elf import ElfFile, open_elf
from .ldcache import resolve_binary

# struct pt_regs (x86_64) byte offsets, by canonical register name
PT_REGS_X86_64 = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "bp": 32, "bx": 40, "r11": 48, "r10": 56,
    "r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112, "orig_ax": 120,
    "ip": 128, "cs": 136, "flags": 144, "sp": 152, "ss": 160,
}
_LEGACY = {  # every spelling of the 8 legacy registers
    **{n: n for n in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip")},
    **{f"{p}{n}": n for p in "er" for n in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip")},
    "al": "ax", "ah": "ax", "bl": "bx", "bh": "bx", "cl": "cx", "ch": "cx", "dl": "dx",
    "dh": "dx", "sil": "si", "dil": "di", "bpl": "bp", "spl": "sp",
}


def canonical_reg(name: str) -> str:
    """``%eax``/``rax``/``al`` → ``ax``; ``r8d``/``r8w``/``r8b`` → ``r8``."""
    n = name.lstrip("%").lower()
    if n in _LEGACY:
        return _LEGACY[n]
    m = re.fullmatch(r"r(\d+)[dwb]?", n)
    if m and 8 <= int(m.group(1)) <= 15:
        return f"r{m.group(1)}"
    raise BadInput(f"USDT argument: unknown register %{n}")


@dataclass(frozen=True, slots=True)
class UsdtArg:
    """One argument: ``size`` bytes (signed if the spec's size was negative) from
    a register (``reg``), memory at ``reg + offset`` (``deref``), or a constant."""

    size: int
    signed: bool
    kind: str  # "const" | "reg" | "deref"
    reg: str = ""  # canonical register name
    offset: int = 0  # memory offset, or the constant
    index_reg: str = ""  # (%base,%index,scale) forms
    scale: int = 1
    symbol: str = ""  # sym(%rip)

    @property
    def pt_regs_offset(self) -> int:
        return PT_REGS_X86_64[self.reg]


_ARG_RE = re.compile(r"^(?P<size>-?\d+)@(?P<op>.+)$")
_MEM_RE = re.compile(
    r"^(?P<disp>[^(]*)\((?P<base>%\w+)(?:,(?P<index>%\w+)(?:,(?P<scale>\d+))?)?\)$")


def parse_arg(spec: str) -> UsdtArg:
    """Parse one ``size@operand`` (x86-64 AT&T syntax)."""
    m = _ARG_RE.match(spec.strip())
    if not m:
        raise BadInput(f"USDT argument {spec!r}: expected size@operand")
    size = int(m.group("size"))
    signed, size = size < 0, abs(size)
    if size not in (1, 2, 4, 8):
        raise BadInput(f"USDT argument {spec!r}: size must be 1, 2, 4 or 8")
    op = m.group("op")
    if op.startswith("$"):
        return UsdtArg(size, signed, "const", offset=int(op[1:], 0))
    if op.startswith("%"):
        return UsdtArg(size, signed, "reg", canonical_reg(op))
    mm = _MEM_RE.match(op)
    if not mm:
        raise BadInput(f"USDT argument {spec!r}: cannot parse operand {op!r}")
    disp = mm.group("disp").strip()
    symbol = ""
    try:
        offset = int(disp, 0) if disp else 0
    except ValueError:
        symbol, _, rest = disp.partition("+")
        offset = int(rest, 0) if rest else 0
    index = canonical_reg(mm.group("index")) if mm.group("index") else ""
    return UsdtArg(size, signed, "deref", canonical_reg(mm.group("base")), offset, index,
                   int(mm.group("scale") or 1), symbol)


def parse_args(text: str) -> list[UsdtArg]:
    return [parse_arg(tok) for tok in text.split()] if text.strip() else []


@dataclass(frozen=True, slots=True)
class UsdtProbe:
    provider: str
    name: str
    path: str
    pc: int  # virtual address of the probe's nop
    file_offset: int  # where the uprobe goes
    semaphore: int  # virtual address (0: none)
    semaphore_offset: int  # file offset of the semaphore (uprobe ref_ctr_offset)
    arg_text: str

    @property
    def args(self) -> list[UsdtArg]:
        return parse_args(self.arg_text)

    def __str__(self) -> str:
        return f"usdt:{self.path}:{self.provider}:{self.name}"


def read_probes(elf: ElfFile) -> list[UsdtProbe]:
    """Every USDT probe location in an opened ELF file."""
    base_sec = elf.section(".stapsdt.base")
    out: list[UsdtProbe] = []
    for owner, ntype, desc in elf.notes(".note.stapsdt"):
        if owner != "stapsdt" or ntype != 3 or len(desc) < 24:
            continue
        pc, base, sem = struct.unpack_from("<QQQ", desc, 0)
        provider, name, args = (desc[24:].split(b"\0") + [b"", b""])[:3]
        if base_sec is not None and base:  # undo prelink: the note records link-time addresses
            pc += base_sec.addr - base
            if sem:
                sem += base_sec.addr - base
        out.append(UsdtProbe(provider.decode(), name.decode(), elf.path, pc,
                             elf.vaddr_to_offset(pc), sem,
                             elf.vaddr_to_offset(sem) if sem else 0, args.decode()))
    return out


def find_probes(binary: str, provider: str = "*", name: str = "*") -> list[UsdtProbe]:
    """USDT probes of ``binary`` matching ``provider``/``name`` globs."""
    import fnmatch

    elf = open_elf(resolve_binary(binary))
    return [p for p in read_probes(elf)
            if fnmatch.fnmatchcase(p.provider, provider) and fnmatch.fnmatchcase(p.name, name)]
