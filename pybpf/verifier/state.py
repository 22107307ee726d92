"""Abstract register and stack state, and when one state covers another.

A ``Reg`` is treated as immutable once stored in a state (operations build new
ones), so copying a state copies lists of references, not registers. Scalars
carry a tnum and signed/unsigned 64-bit bounds; pointers carry a fixed offset
plus a variable part described the same way (as the kernel does).
"""

from __future__ import annotations

from . import tnum as tn
from .tnum import M64

S64_MIN = -(1 << 63)
S64_MAX = (1 << 63) - 1
STACK = 512
MAX_FRAMES = 8


class T:
    """Register types (the kernel's enum bpf_reg_type, trimmed).

    Plain ints, not an IntEnum: the walk reads these several times per instruction
    and an enum member lookup costs about ten times a class attribute's.
    """

    NOT_INIT = 0
    SCALAR = 1
    CTX = 2
    STACK = 3
    MAP_PTR = 4
    MAP_VALUE = 5
    MAP_VALUE_OR_NULL = 6
    PACKET = 7
    PACKET_META = 8
    PACKET_END = 9
    MEM = 10  # ringbuf record / helper memory of a known size
    MEM_OR_NULL = 11
    BTF_ID = 12
    FUNC = 13
    MAP_PTR_OR_NULL = 14  # the result of a lookup in a map of maps


TYPE_NAMES = {
    T.NOT_INIT: "?", T.SCALAR: "scalar", T.CTX: "ctx", T.STACK: "fp", T.MAP_PTR: "map_ptr",
    T.MAP_VALUE: "map_value", T.MAP_VALUE_OR_NULL: "map_value_or_null", T.PACKET: "pkt",
    T.PACKET_META: "pkt_meta", T.PACKET_END: "pkt_end", T.MEM: "mem",
    T.MEM_OR_NULL: "mem_or_null", T.BTF_ID: "ptr_", T.FUNC: "func",
    T.MAP_PTR_OR_NULL: "map_ptr_or_null",
}
NULLABLE = {T.MAP_VALUE_OR_NULL: T.MAP_VALUE, T.MEM_OR_NULL: T.MEM,
            T.MAP_PTR_OR_NULL: T.MAP_PTR}


class Reg:
    """One register's abstract value. Never mutate a Reg stored in a state."""

    __slots__ = ("t", "off", "tn", "smin", "smax", "umin", "umax", "id", "ref", "map",
                 "rng", "frame", "src")

    def __init__(self, t: int, off: int = 0, tnum: tn.Tnum = (0, 0), smin: int = 0,
                 smax: int = 0, umin: int = 0, umax: int = 0, id: int = 0, ref: int = 0,
                 map: int = -1, rng: int = 0, frame: int = 0, src: int = -1) -> None:
        self.t = t
        self.off = off
        self.tn = tnum
        self.smin, self.smax, self.umin, self.umax = smin, smax, umin, umax
        self.id = id
        self.ref = ref
        self.map = map
        self.rng = rng  # packet: verified bytes; mem: size; func: subprog start
        self.frame = frame
        self.src = src  # instruction that produced the value (for messages)

    def copy(self, **kw: object) -> Reg:
        r = Reg.__new__(Reg)
        r.t, r.off, r.tn, r.id, r.ref, r.map = self.t, self.off, self.tn, self.id, self.ref, \
            self.map
        r.smin, r.smax, r.umin, r.umax = self.smin, self.smax, self.umin, self.umax
        r.rng, r.frame, r.src = self.rng, self.frame, self.src
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    # -- scalar views ----------------------------------------------------
    @property
    def is_const(self) -> bool:
        return self.tn[1] == 0

    @property
    def const(self) -> int:
        return self.tn[0]

    def same_var(self, o: Reg) -> bool:
        return (self.tn == o.tn and self.smin == o.smin and self.smax == o.smax
                and self.umin == o.umin and self.umax == o.umax)

    def var_within(self, o: Reg) -> bool:
        """True when every value of ``o``'s variable part is one of ours."""
        return (self.smin <= o.smin and o.smax <= self.smax and self.umin <= o.umin
                and o.umax <= self.umax and tn.contains(self.tn, o.tn))

    def __repr__(self) -> str:
        return fmt_reg(self)


NOT_INIT = Reg(T.NOT_INIT)
_new = object.__new__


def scalar(tnum: tn.Tnum = tn.UNKNOWN, smin: int = S64_MIN, smax: int = S64_MAX,
           umin: int = 0, umax: int = M64, src: int = -1) -> Reg:
    """A scalar with bounds made consistent with each other and with its known bits."""
    return sync(_scalar_reg(tnum, smin, smax, umin, umax, src))


def _scalar_reg(tnum: tn.Tnum, smin: int, smax: int, umin: int, umax: int, src: int) -> Reg:
    """A scalar Reg without the keyword-argument constructor (the walk's hottest path)."""
    r = _new(Reg)
    r.t, r.off, r.tn, r.smin, r.smax, r.umin, r.umax = 1, 0, tnum, smin, smax, umin, umax
    r.id = r.ref = r.rng = r.frame = 0
    r.map = -1
    r.src = src
    return r


def const(v: int, src: int = -1) -> Reg:
    v &= M64
    s = v - (1 << 64) if v >> 63 else v
    return _scalar_reg((v, 0), s, s, v, v, src)


def unknown(src: int = -1) -> Reg:
    return _scalar_reg(tn.UNKNOWN, S64_MIN, S64_MAX, 0, M64, src)


def ranged(lo: int, hi: int, src: int = -1) -> Reg:
    """An unsigned scalar in [lo, hi] (hi < 2**63)."""
    return _scalar_reg(tn.trange(lo, hi), lo, hi, lo, hi, src)


def pointer(t: int, off: int = 0, **kw: int) -> Reg:
    return Reg(t, off, (0, 0), 0, 0, 0, 0, **kw)  # type: ignore[arg-type]


def sync(r: Reg) -> Reg:
    """Tighten bounds from known bits and each other (kernel reg_bounds_sync); in place."""
    v, m = r.tn
    # bounds from the tnum
    lo = v | (m & (1 << 63))
    r.smin = max(r.smin, lo - (1 << 64) if lo >> 63 else lo)
    hi = v | (m & S64_MAX)
    r.smax = min(r.smax, hi - (1 << 64) if hi >> 63 else hi)
    r.umin = max(r.umin, v)
    r.umax = min(r.umax, v | m)
    # signed <-> unsigned
    if r.smin >= 0 or r.smax < 0:
        lo = max(r.smin & M64, r.umin)
        hi = min(r.smax & M64, r.umax)
        r.umin, r.umax = lo, hi
        r.smin, r.smax = tn.to_signed(lo), tn.to_signed(hi)
    elif r.umax <= S64_MAX:
        hi = min(r.smax, r.umax)
        r.smin = r.umin
        r.smax = r.umax = hi
    elif r.umin > S64_MAX:
        lo = max(r.smin & M64, r.umin)
        r.umin = lo
        r.smin = tn.to_signed(lo)
        r.smax = tn.to_signed(r.umax)
    # tnum from bounds
    if r.umin <= r.umax:
        r.tn = tn.intersect(r.tn, tn.trange(r.umin, r.umax))
    return r


def empty(r: Reg) -> bool:
    """True when the bounds admit no value (an infeasible branch)."""
    return r.smin > r.smax or r.umin > r.umax or (r.tn[0] & r.tn[1]) != 0


def fmt_reg(r: Reg) -> str:
    t = r.t
    if t == T.NOT_INIT:
        return "?"
    if t == T.SCALAR:
        if r.is_const:
            return str(tn.to_signed(r.const))
        return "scalar(" + _fmt_bounds(r) + ")"
    if t == T.STACK:
        return f"fp{r.off}" if r.is_const and r.tn[0] == 0 else f"fp{r.off}({_fmt_bounds(r)})"
    name = TYPE_NAMES[t]
    parts = []
    if r.id:
        parts.append(f"id={r.id}")
    if r.ref:
        parts.append(f"ref_obj_id={r.ref}")
    if r.off:
        parts.append(f"off={r.off}")
    if t in (T.PACKET, T.PACKET_META):
        parts.append(f"r={r.rng}")
    if t in (T.MEM, T.MEM_OR_NULL):
        parts.append(f"sz={r.rng}")
    if not (r.is_const and r.tn[0] == 0):
        parts.append(_fmt_bounds(r))
    return f"{name}({','.join(parts)})"


def _fmt_bounds(r: Reg) -> str:
    out = []
    if r.smin != S64_MIN:
        out.append(f"smin={r.smin}")
    if r.smax != S64_MAX:
        out.append(f"smax={r.smax}")
    if r.umin:
        out.append(f"umin={r.umin}")
    if r.umax != M64:
        out.append(f"umax={r.umax}")
    if r.tn != tn.UNKNOWN and r.tn[1]:
        out.append(f"var_off={tn.fmt(r.tn)}")
    return ",".join(out)


# -- stack ---------------------------------------------------------------
# One byte per stack byte: INVALID (never written), MISC (written, unknown), ZERO,
# SPILL (part of an 8-byte slot holding a spilled register, kept in Frame.spills).
INVALID, MISC, ZERO, SPILL = 0, 1, 2, 3


class Frame:
    """Registers and stack of one call frame."""

    __slots__ = ("regs", "stack", "spills", "callsite", "subprog", "depth", "cb", "cb_left")

    def __init__(self, regs: list[Reg], callsite: int, subprog: int) -> None:
        self.regs = regs
        self.stack = bytearray(STACK)  # index = 512 + offset from fp
        self.spills: dict[int, Reg] = {}  # slot start index -> register
        self.callsite = callsite
        self.subprog = subprog
        self.depth = 0  # deepest byte touched below fp
        self.cb = 0  # 1 when this frame is a bpf_loop callback
        self.cb_left = 0  # how many more times the callback may run after this one

    def copy(self) -> Frame:
        f = Frame.__new__(Frame)
        f.regs = list(self.regs)
        f.stack = bytearray(self.stack)
        f.spills = dict(self.spills)
        f.callsite, f.subprog, f.depth, f.cb = self.callsite, self.subprog, self.depth, self.cb
        f.cb_left = self.cb_left
        return f


class Lock:
    """A held bpf_spin_lock: which map and where it was taken."""

    __slots__ = ("map", "insn")

    def __init__(self, map: int, insn: int) -> None:
        self.map, self.insn = map, insn


class State:
    """The whole abstract machine at one instruction: frames, references, lock."""

    __slots__ = ("frames", "refs", "lock", "path", "parent", "next_id")

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames
        self.refs: dict[int, int] = {}  # ref id -> acquiring instruction
        self.lock: Lock | None = None
        self.path: tuple[int, ...] | None = None  # branch history: linked (idx, prev)
        self.parent: Visit | None = None
        self.next_id = 1

    @property
    def cur(self) -> Frame:
        return self.frames[-1]

    def copy(self) -> State:
        s = State.__new__(State)
        s.frames = [f.copy() for f in self.frames]
        s.refs = dict(self.refs)
        s.lock = self.lock
        s.path = self.path
        s.parent = self.parent
        s.next_id = self.next_id
        return s

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i


class Visit:
    """A stored state at a prune point. ``branches`` counts paths still being explored."""

    __slots__ = ("state", "branches", "parent", "sig")

    def __init__(self, state: State, parent: Visit | None) -> None:
        self.state = state
        self.sig: object = None  # exact image, computed when a loop needs it
        self.branches = 1
        self.parent = parent


# -- state coverage (pruning) -------------------------------------------------
def covers(old: State, cur: State, live: list[int], exact: bool = False) -> bool:
    """True when everything reachable from ``cur`` was already proven safe from ``old``.

    ``live`` holds, per frame (innermost last), a bit set of registers read later.
    """
    if len(old.frames) != len(cur.frames):
        return False
    if (old.lock is None) != (cur.lock is None):
        return False
    if old.lock and cur.lock and old.lock.map != cur.lock.map:
        return False
    idmap: dict[int, int] = {}
    if len(old.refs) != len(cur.refs):
        return False
    for fo, fc, lv in zip(old.frames, cur.frames, live, strict=True):
        if fo.callsite != fc.callsite or fo.cb != fc.cb:
            return False
        ro, rc = fo.regs, fc.regs
        for i in range(11):
            if lv >> i & 1 and not reg_covers(ro[i], rc[i], idmap, exact):
                return False
        if not _stack_covers(fo, fc, idmap, exact):
            return False
    return all(idmap.get(r, -1) in cur.refs for r in old.refs) if old.refs else True


def _check_id(a: int, b: int, idmap: dict[int, int]) -> bool:
    if not a and not b:
        return True
    if not a or not b:
        return False
    got = idmap.setdefault(a, b)
    return got == b


def reg_covers(o: Reg, c: Reg, idmap: dict[int, int], exact: bool = False) -> bool:
    if exact:
        return (o.t == c.t and o.off == c.off and o.same_var(c) and o.map == c.map
                and o.rng == c.rng and o.frame == c.frame and _check_id(o.id, c.id, idmap)
                and _check_id(o.ref, c.ref, idmap))
    if o.t == T.NOT_INIT:
        return True
    if o.t != c.t:
        return False
    if o.t == T.SCALAR:
        if not o.var_within(c):
            return False
        if o.id:  # old was linked to other registers: cur must be linked the same way
            got = idmap.setdefault(o.id, c.id or -len(idmap) - 1)
            return got == c.id and c.id != 0
        return True
    if o.off != c.off or o.map != c.map or o.frame != c.frame:
        return False
    if not o.var_within(c):
        return False
    if o.t in (T.PACKET, T.PACKET_META):
        return o.rng <= c.rng and _check_id(o.id, c.id, idmap)
    if o.t in (T.MEM, T.MEM_OR_NULL, T.FUNC):
        if o.rng != c.rng:
            return False
    return _check_id(o.id, c.id, idmap) and _check_id(o.ref, c.ref, idmap)


def _stack_covers(fo: Frame, fc: Frame, idmap: dict[int, int], exact: bool) -> bool:
    so, sc = fo.stack, fc.stack
    if so == sc:  # same byte kinds, so the same spill slots: compare the spilled registers
        spo, spc = fo.spills, fc.spills
        return all(reg_covers(spo[k], spc[k], idmap, exact) for k in spo)
    if exact:
        return False
    # the stack grows down from fp: skip the never-written (INVALID = 0) bytes below
    for i in range(STACK - len(so.lstrip(b"\x00")), STACK):
        a = so[i]
        if a == INVALID:
            continue
        b = sc[i]
        if a == b and a != SPILL:
            continue
        if a == MISC and b != INVALID:
            # a spilled pointer in cur is not a misc value the old state proved safe
            if b == SPILL and fc.spills[i & ~7].t != T.SCALAR:
                return False
            continue
        if a == ZERO and b == SPILL:
            sp = fc.spills[i & ~7]
            if sp.t == T.SCALAR and sp.is_const and sp.const == 0:
                continue
            return False
        if a == SPILL and b == SPILL:
            if i & 7:
                continue
            if not reg_covers(fo.spills[i], fc.spills[i], idmap):
                return False
            continue
        if a == SPILL and fo.spills[i & ~7].t == T.SCALAR and fo.spills[i & ~7].tn == tn.UNKNOWN:
            if b != INVALID:
                continue
        return False
    return True
