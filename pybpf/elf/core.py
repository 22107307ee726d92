"""CO-RE: resolve the ``.BTF.ext`` relocations of a section against the kernel's BTF.

Follows libbpf (relo_core.c): parse the local access spec ("0:1:2") over the object's
BTF, find candidate kernel types with the same essential name (``___flavor`` stripped)
in vmlinux (then modules), match the spec against each candidate, require all matches
to agree, and patch the instruction (ALU imm, load/store offset and size, or lddw
immediate). A relocation that cannot be resolved poisons its instruction with a call
to helper 0xbad2310 (as libbpf does); the message is kept so a load failure can say
which relocation, type and field path were at fault.
"""

from __future__ import annotations

import struct

from .._record import dataclass, field
from ..btf import Btf, BtfNotFound, Kind, essential_name
from ..btf.ext import CoreRelo, CoreReloKind
from ..errors import BadInput

K = CoreReloKind
POISON_IMM = 0xBAD2310
FIELD_KINDS = frozenset({K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_EXISTS,
                         K.FIELD_SIGNED, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64})
TYPE_KINDS = frozenset({K.TYPE_ID_LOCAL, K.TYPE_ID_TARGET, K.TYPE_EXISTS, K.TYPE_SIZE,
                        K.TYPE_MATCHES})
ENUM_KINDS = frozenset({K.ENUMVAL_EXISTS, K.ENUMVAL_VALUE})
EXISTS_KINDS = frozenset({K.FIELD_EXISTS, K.TYPE_EXISTS, K.TYPE_MATCHES, K.ENUMVAL_EXISTS})
_COMPOSITE = (Kind.STRUCT, Kind.UNION)
_ENUMS = (Kind.ENUM, Kind.ENUM64)
_SLOT = struct.Struct("<BBhi")


class CoreError(BadInput):
    """A relocation that is malformed (not merely unresolvable)."""


@dataclass(slots=True)
class Access:
    """One step of a spec: the root (array index over the root pointer), a named member,
    or an array element."""

    kind: str  # "root" | "member" | "index"
    idx: int
    name: str = ""
    type_id: int = 0  # local type of the thing accessed at this step


@dataclass(slots=True)
class FieldRes:
    """Where a spec lands: total bit offset, the field's type, bitfield width."""

    bit_off: int
    type_id: int
    bitfield: int = 0
    member: bool = False


@dataclass(slots=True)
class LocalSpec:
    btf: Btf
    root_id: int
    kind: CoreReloKind
    raw: list[int]
    steps: list[Access] = field(default_factory=list)
    res: FieldRes | None = None
    enum_name: str = ""

    def describe(self) -> str:
        """``struct task_struct.real_parent->pid`` style text for messages."""
        root = self.btf.type_name(self.root_id)
        if self.kind in ENUM_KINDS:
            return f"{root}::{self.enum_name}"
        out = root
        for a in self.steps[1:]:
            out += f".{a.name}" if a.kind == "member" else f"[{a.idx}]"
        if self.steps and self.steps[0].idx:
            out = f"{out} (root index {self.steps[0].idx})"
        return out


def parse_spec(btf: Btf, type_id: int, access: str, kind: CoreReloKind, where: str) -> LocalSpec:
    try:
        raw = [int(x) for x in access.split(":")] if access else []
    except ValueError:
        raise CoreError(f"{where}: bad CO-RE access string {access!r}") from None
    if not raw:
        raise CoreError(f"{where}: empty CO-RE access string")
    spec = LocalSpec(btf, type_id, kind, raw)
    if kind in TYPE_KINDS:
        if raw != [0]:
            raise CoreError(f"{where}: type relocation with access {access!r} (want 0)")
        return spec
    if kind in ENUM_KINDS:
        t = btf[btf.resolve(type_id)]
        if t.kind not in _ENUMS or raw[0] >= len(t.values):  # type: ignore[attr-defined]
            raise CoreError(f"{where}: enum relocation {access!r} on {btf.type_name(type_id)}")
        spec.enum_name = t.values[raw[0]].name  # type: ignore[attr-defined]
        return spec
    tid = btf.resolve(type_id)
    bit_off = raw[0] * btf.size(tid) * 8
    spec.steps.append(Access("root", raw[0], "", tid))
    res = FieldRes(bit_off, tid)
    for idx in raw[1:]:
        tid = btf.resolve(tid)
        t = btf[tid]
        if t.kind in _COMPOSITE:
            members = t.members  # type: ignore[attr-defined]
            if idx >= len(members):
                raise CoreError(f"{where}: member index {idx} past {btf.type_name(tid)}")
            m = members[idx]
            bit_off += m.bit_offset
            tid = m.type
            res = FieldRes(bit_off, tid, m.bitfield_size, True)
            if m.name:
                spec.steps.append(Access("member", idx, m.name, tid))
        elif t.kind == Kind.ARRAY:
            tid = t.type  # type: ignore[attr-defined]
            bit_off += idx * btf.size(tid) * 8
            res = FieldRes(bit_off, tid)
            spec.steps.append(Access("index", idx, "", tid))
        else:
            raise CoreError(f"{where}: access {access!r} steps into {btf.type_name(tid)}")
    spec.res = res
    return spec


# -- compatibility ------------------------------------------------------------------------
def _kind(btf: Btf, tid: int) -> Kind:
    k = btf[tid].kind
    return Kind.ENUM if k == Kind.ENUM64 else k


def fields_compat(lb: Btf, lid: int, tb: Btf, tid: int) -> bool:
    """libbpf's bpf_core_fields_are_compat."""
    for _ in range(16):
        lid, tid = lb.resolve(lid), tb.resolve(tid)
        lk, tk = _kind(lb, lid), _kind(tb, tid)
        if lk in _COMPOSITE + (Kind.FWD,) and tk in _COMPOSITE + (Kind.FWD,):
            return True
        if lk != tk:
            return False
        if lk in (Kind.PTR, Kind.FLOAT, Kind.INT, Kind.ENUM):
            return True
        if lk == Kind.ARRAY:
            lid, tid = lb[lid].type, tb[tid].type  # type: ignore[attr-defined]
            continue
        return False
    return False


def types_compat(lb: Btf, lid: int, tb: Btf, tid: int, depth: int = 32) -> bool:
    """libbpf's bpf_core_types_are_compat."""
    if depth <= 0:
        return False
    lid, tid = lb.resolve(lid), tb.resolve(tid)
    if lid == 0 or tid == 0:
        return lid == tid
    lk, tk = _kind(lb, lid), _kind(tb, tid)
    if lk != tk:
        return False
    if lk in _COMPOSITE + (Kind.FWD, Kind.ENUM, Kind.INT, Kind.FLOAT):
        return True
    lt, tt = lb[lid], tb[tid]
    if lk in (Kind.PTR, Kind.ARRAY):
        return types_compat(lb, lt.type, tb, tt.type, depth - 1)  # type: ignore[attr-defined]
    if lk == Kind.FUNC_PROTO:
        lp, tp = lt.params, tt.params  # type: ignore[attr-defined]
        return len(lp) == len(tp) and types_compat(lb, lt.ret, tb, tt.ret, depth - 1) and all(  # type: ignore[attr-defined]
            types_compat(lb, a.type, tb, b.type, depth - 1) for a, b in zip(lp, tp, strict=True))
    return False


def types_match(lb: Btf, lid: int, tb: Btf, tid: int, depth: int = 32) -> bool:
    """libbpf's bpf_core_types_match: names, member sets, int sizes and signs agree."""
    if depth <= 0:
        return False
    lid, tid = lb.skip_mods(lid), tb.skip_mods(tid)
    lt, tt = lb[lid], tb[tid]
    if lt.kind == Kind.TYPEDEF or tt.kind == Kind.TYPEDEF:
        if lt.kind != tt.kind or essential_name(lt.name) != essential_name(tt.name):
            return False
        return types_match(lb, lt.type, tb, tt.type, depth - 1)  # type: ignore[attr-defined]
    if lid == 0 or tid == 0:
        return lid == tid
    lk, tk = _kind(lb, lid), _kind(tb, tid)
    if lk == Kind.FWD or tk == Kind.FWD:
        return essential_name(lt.name) == essential_name(tt.name)
    if lk != tk:
        return False
    if lk in _COMPOSITE + (Kind.ENUM,) and lt.name and \
            essential_name(lt.name) != essential_name(tt.name):
        return False
    if lk == Kind.INT:
        return lt.size == tt.size and lt.signed == tt.signed  # type: ignore[attr-defined]
    if lk == Kind.FLOAT:
        return lt.size == tt.size  # type: ignore[attr-defined]
    if lk == Kind.ENUM:
        tnames = {essential_name(v.name) for v in tt.values}  # type: ignore[attr-defined]
        return lt.size == tt.size and all(  # type: ignore[attr-defined]
            essential_name(v.name) in tnames for v in lt.values)  # type: ignore[attr-defined]
    if lk in _COMPOSITE:
        tm = {m.name: m for m in tt.members}  # type: ignore[attr-defined]
        for m in lt.members:  # type: ignore[attr-defined]
            other = tm.get(m.name)
            if other is None or m.bitfield_size != other.bitfield_size:
                return False
            if not types_match(lb, m.type, tb, other.type, depth - 1):
                return False
        return True
    if lk == Kind.PTR:
        return types_match(lb, lt.type, tb, tt.type, depth - 1)  # type: ignore[attr-defined]
    if lk == Kind.ARRAY:
        return lt.nelems == tt.nelems and types_match(  # type: ignore[attr-defined]
            lb, lt.type, tb, tt.type, depth - 1)  # type: ignore[attr-defined]
    if lk == Kind.FUNC_PROTO:
        return types_compat(lb, lid, tb, tid, depth)
    return False


# -- matching a spec against a candidate -------------------------------------------------
def _find_member(lb: Btf, name: str, ltype: int, tb: Btf, tid: int,
                 bit_base: int) -> tuple[int, int, int] | None:
    """(bit offset, member type, bitfield) of member ``name`` in composite ``tid``,
    looking through anonymous members, as libbpf's bpf_core_match_member: a compatible
    match wins; an incompatible one at the top level ends the search."""
    index = _members_by_name(tb, tid)
    if index is None:
        return None
    for off, mtype, bits, top in index.get(essential_name(name), ()):
        if fields_compat(lb, ltype, tb, mtype):
            return bit_base + off, mtype, bits
        if top:
            return None
    return None


def _members_by_name(tb: Btf, tid: int) -> dict[str, list[tuple[int, int, int, bool]]] | None:
    """Essential member name -> [(bit offset, type, bitfield size, top level)] of composite
    ``tid`` in declaration order, through anonymous members; cached on ``tb`` (a CO-RE
    object asks for the same big kernel structs hundreds of times)."""
    cache = tb.derived.setdefault("core_members", {})
    if tid in cache:
        return cache[tid]  # type: ignore[no-any-return]
    t = tb[tb.resolve(tid)]
    if t.kind not in _COMPOSITE:
        cache[tid] = None
        return None
    out: dict[str, list[tuple[int, int, int, bool]]] = {}

    def walk(comp: Any, base: int, top: bool) -> None:
        for m in comp.members:
            off = base + m.bit_offset
            if m.name:
                out.setdefault(essential_name(m.name), []).append(
                    (off, m.type, m.bitfield_size, top))
                continue
            inner = tb[tb.resolve(m.type)]
            if inner.kind in _COMPOSITE:
                walk(inner, off, False)

    walk(t, 0, True)
    cache[tid] = out
    return out


def match_field(spec: LocalSpec, tb: Btf, cand: int) -> FieldRes | None:
    lb = spec.btf
    tid = tb.resolve(cand)
    root = spec.steps[0]
    bit_off = root.idx * tb.size(tid) * 8
    res = FieldRes(bit_off, tid)
    for a in spec.steps[1:]:
        if a.kind == "member":
            r = _find_member(lb, a.name, a.type_id, tb, tid, 0)
            if r is None:
                return None
            off, mtype, bits = r
            bit_off += off
            tid = mtype
            res = FieldRes(bit_off, tid, bits, True)
        else:
            t = tb[tb.resolve(tid)]
            if t.kind != Kind.ARRAY:
                return None
            if t.nelems and a.idx >= t.nelems:  # type: ignore[attr-defined]
                return None
            tid = t.type  # type: ignore[attr-defined]
            bit_off += a.idx * tb.size(tid) * 8
            res = FieldRes(bit_off, tid)
    return res


def field_value(btf: Btf, res: FieldRes, kind: CoreReloKind) -> tuple[int, int]:
    """(value, field byte size) for a field relocation (libbpf bpf_core_calc_field_relo)."""
    if kind == K.FIELD_EXISTS:
        return 1, 0
    mid = btf.resolve(res.type_id)
    mt = btf[mid]
    bit_off = res.bit_off
    if res.bitfield:
        byte_sz = mt.size  # type: ignore[attr-defined]
        bit_sz = res.bitfield
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CoreError("bitfield straddles an 8-byte word")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = btf.size(mid)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    if kind == K.FIELD_BYTE_OFFSET:
        return byte_off, byte_sz
    if kind == K.FIELD_BYTE_SIZE:
        return byte_sz, byte_sz
    if kind == K.FIELD_SIGNED:
        signed = mt.kind in (Kind.INT, Kind.ENUM, Kind.ENUM64) and bool(mt.signed)  # type: ignore[attr-defined]
        return int(signed), byte_sz
    if kind == K.FIELD_LSHIFT_U64:
        return 64 - (bit_off + bit_sz - byte_off * 8), byte_sz
    if kind == K.FIELD_RSHIFT_U64:
        return 64 - bit_sz, byte_sz
    raise CoreError(f"not a field relocation: {kind.name}")


# -- candidates -----------------------------------------------------------------------------
TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    CandFinder = Callable[[str, Kind], list[tuple[Btf, int]]]


def kernel_candidates(name: str, kind: Kind) -> list[tuple[Btf, int]]:
    """Candidates in vmlinux; in loaded modules only when vmlinux has none."""
    from ..btf import module_btf, module_names, vmlinux

    kinds = _ENUMS if kind in _ENUMS else (kind,)
    vm = vmlinux()
    out = [(vm, i) for k in kinds for i in vm.find_candidates(name, k)]
    if out:
        return out
    for mod in module_names():
        try:
            mb = module_btf(mod)
        except (BtfNotFound, OSError):
            continue
        out.extend((mb, i) for k in kinds for i in mb.find_candidates(name, k) if i >= mb.start_id)
    return out


@dataclass(slots=True)
class Resolved:
    value: int
    poison: str = ""  # why, when the relocation could not be resolved
    field_size: int = 0  # target field size (to fix a load's width)
    local_size: int = 0


def resolve(btf: Btf, relo: CoreRelo, where: str, cands: CandFinder) -> Resolved:
    """The new value for one relocation, or a poison reason."""
    kind = relo.kind
    spec = parse_spec(btf, relo.type_id, relo.access, kind, where)

    def what() -> str:  # only for messages: describing the access path costs
        return f"CO-RE relocation {kind.name.lower()} of {spec.describe()}"

    if kind == K.TYPE_ID_LOCAL:
        return Resolved(relo.type_id)
    local = btf[btf.skip_mods(relo.type_id)]
    if not local.name:
        raise CoreError(f"{where}: {what()}: relocation against an anonymous type")
    local_size = 0
    if spec.res is not None and kind in FIELD_KINDS:
        local_size = field_value(btf, spec.res, K.FIELD_BYTE_SIZE)[1] \
            if kind != K.FIELD_EXISTS else 0
    results: list[Resolved] = []
    for tb, cid in cands(local.name, local.kind):
        r: Resolved | None = None
        if kind in FIELD_KINDS:
            fr = match_field(spec, tb, cid)
            if fr is not None:
                try:
                    v, sz = field_value(tb, fr, kind)
                except CoreError as e:
                    raise CoreError(f"{where}: {what()}: {e}") from None
                r = Resolved(v, field_size=sz, local_size=local_size)
        elif kind in ENUM_KINDS:
            t = tb[cid]
            ess = essential_name(spec.enum_name)
            for ev in t.values:  # type: ignore[attr-defined]
                if essential_name(ev.name) == ess:
                    r = Resolved(1 if kind == K.ENUMVAL_EXISTS else ev.value)
                    break
        elif kind == K.TYPE_MATCHES:
            if types_match(btf, relo.type_id, tb, cid):
                r = Resolved(1)
        elif types_compat(btf, relo.type_id, tb, cid):
            r = Resolved({K.TYPE_ID_TARGET: cid, K.TYPE_EXISTS: 1,
                          K.TYPE_SIZE: tb.size(cid) if kind == K.TYPE_SIZE else 0}[kind])
        if r is not None:
            results.append(r)
    if not results:
        if kind in EXISTS_KINDS:
            return Resolved(0)
        return Resolved(0, poison=f"{what()}: not found in the kernel's BTF")
    vals = {(r.value, r.field_size) for r in results}
    if len(vals) > 1:
        return Resolved(0, poison=f"{what()}: {len(results)} kernel candidates disagree "
                                  f"({sorted(v for v, _ in vals)})")
    return results[0]


# -- patching -----------------------------------------------------------------------------
_SIZE_BITS = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}
_BITS_SIZE = {v: k for k, v in _SIZE_BITS.items()}


def poison(code: bytearray, idx: int) -> None:
    """Replace slot ``idx`` by ``call 0xbad2310`` (an lddw's second slot becomes ``ja +0``)."""
    op = code[idx * 8]
    _SLOT.pack_into(code, idx * 8, 0x85, 0, 0, POISON_IMM)
    if op == 0x18 and (idx + 1) * 8 < len(code):
        _SLOT.pack_into(code, (idx + 1) * 8, 0x05, 0, 0, 0)


def patch(code: bytearray, idx: int, r: Resolved, kind: CoreReloKind, where: str) -> str:
    """Apply ``r`` to slot ``idx``; returns a poison reason ("" when patched)."""
    if (idx + 1) * 8 > len(code):
        raise CoreError(f"{where}: CO-RE relocation at instruction {idx} is past the section")
    op, regs, off, imm = _SLOT.unpack_from(code, idx * 8)
    cls = op & 7
    val = r.value
    if cls in (4, 7):  # ALU, ALU64
        if op & 0x08:
            raise CoreError(f"{where}: instruction {idx}: CO-RE relocation on a register ALU op")
        _SLOT.pack_into(code, idx * 8, op, regs, off, _s32(val))
        return ""
    if cls in (1, 2, 3):  # LDX, ST, STX
        if not -0x8000 <= val <= 0x7FFF:
            poison(code, idx)
            return f"offset {val} does not fit in a load/store"
        if kind == K.FIELD_BYTE_OFFSET and r.field_size and r.local_size and \
                r.field_size != r.local_size and cls == 1:
            if r.field_size not in _SIZE_BITS:
                poison(code, idx)
                return f"field size changed to {r.field_size} bytes"
            op = (op & ~0x18) | _SIZE_BITS[r.field_size]
        _SLOT.pack_into(code, idx * 8, op, regs, val, imm)
        return ""
    if op == 0x18:
        if (idx + 2) * 8 > len(code):
            raise CoreError(f"{where}: instruction {idx}: truncated lddw")
        val &= (1 << 64) - 1
        _SLOT.pack_into(code, idx * 8, op, regs, off, _s32(val & 0xFFFFFFFF))
        o2, r2, f2, _ = _SLOT.unpack_from(code, idx * 8 + 8)
        _SLOT.pack_into(code, idx * 8 + 8, o2, r2, f2, _s32(val >> 32))
        return ""
    raise CoreError(f"{where}: instruction {idx}: CO-RE relocation on unexpected opcode {op:#04x}")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def apply_core(code: bytearray, btf: Btf, relos: list[CoreRelo], section: str, path: str,
               cands: CandFinder | None = None,
               memo: dict[Any, Any] | None = None) -> dict[int, str]:
    """Resolve and apply ``relos`` to one section's code; {insn: poison message}.

    ``memo`` (one dict per object) shares answers between sections: programs that inline
    the same helpers repeat the same (type, access, kind) relocations many times."""
    memo = {} if memo is None else memo
    finder = memo.get("finder")
    if finder is None:
        finder = memo["finder"] = cands or _cached(kernel_candidates)
    poisoned: dict[int, str] = {}
    for n, relo in enumerate(relos):
        where = f"{path}: section {section}: instruction {relo.insn}"
        key = (relo.type_id, relo.access, relo.kind)
        r = memo.get(key)
        if r is None:
            r = memo[key] = resolve(btf, relo, where, finder)
        if r.poison:
            poison(code, relo.insn)
            poisoned[relo.insn] = f"{r.poison} (relocation #{n}, access {relo.access})"
            continue
        why = patch(code, relo.insn, r, relo.kind, where)
        if why:
            poisoned[relo.insn] = (f"CO-RE relocation {relo.kind.name.lower()} (#{n}, access "
                                   f"{relo.access}): {why}")
    return poisoned


def _cached(f: CandFinder) -> CandFinder:
    memo: dict[tuple[str, Kind], list[tuple[Btf, int]]] = {}

    def g(name: str, kind: Kind) -> list[tuple[Btf, int]]:
        key = (essential_name(name), kind)
        if key not in memo:
            memo[key] = f(name, kind)
        return memo[key]

    return g
