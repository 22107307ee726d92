"""Print BTF types as C, the way ``bpftool btf dump ... format c`` (libbpf's btf_dump) does.

The declarator algorithm follows btf_dump.c: walk the chain from the outer type
to its base (int/struct/typedef/...), then emit it back base-first, placing
qualifiers left of base types and right of ``*``, parenthesising pointers to
arrays and functions, and inlining anonymous structs, unions and enums.
Padding between members is spelled as ``long: 64;`` etc. with libbpf's rules,
so the output is char-for-char the same as bpftool's block for that type.
"""

from __future__ import annotations

from . import types as T
from .format import Kind

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from .parse import Btf

_MODS = {Kind.VOLATILE: "volatile", Kind.CONST: "const", Kind.RESTRICT: "restrict"}
_DROPPABLE = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
_PTR_BITS = 64


def decl(btf: Btf, tid: int, name: str, lvl: int = 0) -> str:
    """C declaration of ``name`` of type ``tid`` (``name`` "" spells just the type)."""
    out: list[str] = []
    _Emitter(btf, out).type_decl(tid, name, lvl)
    return "".join(out)


def dump_c(btf: Btf, tid: int) -> str:
    """One type's definition as bpftool prints it in ``format c`` (ending in ``;\\n``)."""
    out: list[str] = []
    e = _Emitter(btf, out)
    t = btf[tid]
    if isinstance(t, T.Struct):
        e.struct_def(t, 0)
    elif isinstance(t, T.Enum):
        e.enum_def(t, 0)
    elif isinstance(t, T.Typedef):
        out.append("typedef ")
        e.type_decl(t.type, t.name, 0)
    elif isinstance(t, T.Fwd):
        out.append(f"{'union' if t.is_union else 'struct'} {t.name}")
    elif isinstance(t, T.Func):
        if t.linkage == 0:
            out.append("static ")
        elif t.linkage == 2:
            out.append("extern ")
        e.type_decl(t.type, t.name, 0)
    elif isinstance(t, T.Var):
        out.append("static " if t.linkage == 0 else "extern " if t.linkage == 2 else "")
        e.type_decl(t.type, t.name, 0)
    elif isinstance(t, T.Datasec):
        out.append(f"/* section {t.name} ({t.size} bytes) */\n")
        for v in t.vars:
            var = btf[v.type]
            out.append(f"/* +{v.offset} */ ")
            e.type_decl(var.type if isinstance(var, T.Var) else v.type, var.name, 0)
            out.append(";\n")
        return "".join(out)
    else:
        e.type_decl(tid, "", 0)
    out.append(";\n")
    return "".join(out)


class _Emitter:
    """Appends C text for types of one BTF to ``out``."""

    def __init__(self, btf: Btf, out: list[str]) -> None:
        self.btf = btf
        self.out = out

    # Name hooks: a whole-file dump renames duplicates (``name___2``) like libbpf.
    def tname(self, t: T.Type) -> str:
        """Name of a struct/union/enum/fwd."""
        return t.name

    def iname(self, t: T.Type) -> str:
        """Name of a typedef."""
        return t.name

    def enumerator(self, name: str) -> str:
        return name

    # -- declarations ---------------------------------------------------------------------

    def type_decl(self, tid: int, fname: str, lvl: int) -> None:
        stack: list[int] = []
        btf = self.btf
        for _ in range(256):
            stack.append(tid)
            if tid == 0:
                break
            t = btf[tid]
            if isinstance(t, T.Array):
                tid = t.type
            elif isinstance(t, T.FuncProto):
                tid = t.ret
            elif t.kind in (Kind.PTR, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
                tid = t.type  # type: ignore[attr-defined]
            else:
                break
        self.chain(stack, fname, lvl)

    def _mods(self, stack: list[int]) -> None:
        while stack:
            k = self.btf.kind_of(stack[-1])
            if k not in _MODS:
                return
            self.out.append(_MODS[k] + " ")
            stack.pop()

    def _drop_mods(self, stack: list[int]) -> None:
        while stack and self.btf.kind_of(stack[-1]) in _DROPPABLE:
            stack.pop()

    def _name(self, fname: str, last_was_ptr: bool) -> None:
        if fname:
            self.out.append(fname if last_was_ptr else " " + fname)

    def chain(self, stack: list[int], fname: str, lvl: int) -> None:
        out, btf = self.out, self.btf
        last_was_ptr = True
        while stack:
            tid = stack.pop()
            if tid == 0:
                self._mods(stack)
                out.append("void")
                last_was_ptr = False
                continue
            t = btf[tid]
            k = t.kind
            if k in (Kind.INT, Kind.FLOAT):
                self._mods(stack)
                out.append(t.name)
            elif k == Kind.TYPEDEF:
                self._mods(stack)
                out.append(self.iname(t))
            elif isinstance(t, T.Struct):
                self._mods(stack)
                if t.name:
                    out.append(f"{'union' if k == Kind.UNION else 'struct'} {self.tname(t)}")
                else:
                    self.struct_def(t, lvl)
            elif isinstance(t, T.Enum):
                self._mods(stack)
                if t.name:
                    out.append(f"enum {self.tname(t)}")
                else:
                    self.enum_def(t, lvl)
            elif isinstance(t, T.Fwd):
                self._mods(stack)
                out.append(f"{'union' if t.is_union else 'struct'} {self.tname(t)}")
            elif k == Kind.PTR:
                out.append("*" if last_was_ptr else " *")
            elif k in _MODS:
                out.append(" " + _MODS[k])
            elif k == Kind.TYPE_TAG:
                pass  # bpftool (libbpf 1.1) leaves type tags out of C output
            elif isinstance(t, T.Array):
                self._drop_mods(stack)
                if not stack:
                    self._name(fname, last_was_ptr)
                    out.append(f"[{t.nelems}]")
                    return
                multidim = btf.kind_of(stack[-1]) == Kind.ARRAY
                if fname and not last_was_ptr:
                    out.append(" ")
                if not multidim:
                    out.append("(")
                self.chain(stack, fname, lvl)
                if not multidim:
                    out.append(")")
                out.append(f"[{t.nelems}]")
                return
            elif isinstance(t, T.FuncProto):
                self._drop_mods(stack)
                if stack:
                    out.append(" (")
                    self.chain(stack, fname, lvl)
                    out.append(")")
                else:
                    self._name(fname, last_was_ptr)
                out.append("(")
                ps = t.params
                if not ps or (len(ps) == 1 and ps[0].type == 0):
                    out.append("void)")
                    return
                for i, p in enumerate(ps):
                    if i:
                        out.append(", ")
                    if i == len(ps) - 1 and p.type == 0:
                        out.append("...")
                        break
                    self.type_decl(p.type, p.name, lvl)
                out.append(")")
                return
            else:
                return  # FUNC/VAR/DATASEC/DECL_TAG cannot appear in a declarator
            last_was_ptr = k == Kind.PTR
        self._name(fname, last_was_ptr)

    # -- definitions ----------------------------------------------------------------------

    def _packed(self, t: T.Struct) -> bool:
        max_align = 1
        for m in t.members:
            a = self.btf.align(m.type)
            if a and not m.bitfield_size and m.bit_offset % (8 * a):
                return True
            max_align = max(a, max_align)
        return t.size % max_align != 0

    def _padding(self, cur: int, nxt: int, next_align: int, in_bitfield: bool, lvl: int) -> None:
        if cur >= nxt:
            return
        pads = (("long", _PTR_BITS), ("int", 32), ("short", 16), ("char", 8))
        out, pfx = self.out, "\t" * lvl
        new = 0
        pad_type, pad_bits = pads[-1]
        for name, nbits in pads:  # the widest pad type whose alignment fits the gap
            pad_type, pad_bits = name, nbits
            new = -(-cur // pad_bits) * pad_bits
            if new <= nxt:
                break
        if cur < new <= nxt:
            if (in_bitfield
                    or (new == nxt and -(-cur // (next_align * 8)) * next_align * 8 != new)
                    or (new != nxt and nxt - new <= new - cur)):
                out.append(f"\n{pfx}{pad_type}: {new - cur if in_bitfield else 0};")
            cur = new
        while cur != nxt:
            bits = min(nxt - cur, pad_bits)
            if bits == pad_bits:
                out.append(f"\n{pfx}{pad_type}: {pad_bits};")
                cur += bits
                continue
            for pad_type, pad_bits in reversed(pads):
                if pad_bits >= bits:
                    out.append(f"\n{pfx}{pad_type}: {bits};")
                    cur += bits
                    break

    def struct_def(self, t: T.Struct, lvl: int) -> None:
        btf, out = self.btf, self.out
        is_struct = t.kind == Kind.STRUCT
        align = btf.align(t.id)
        packed = is_struct and self._packed(t)
        kw = "struct" if is_struct else "union"
        out.append(f"{kw} {self.tname(t)} {{" if t.name else f"{kw} {{")
        off, prev_bitfield = 0, False
        pfx = "\t" * (lvl + 1)
        for m in t.members:
            m_align = 1 if packed else btf.align(m.type)
            in_bitfield = prev_bitfield and m.bitfield_size != 0
            self._padding(off, m.bit_offset, m_align, in_bitfield, lvl + 1)
            out.append("\n" + pfx)
            self.type_decl(m.type, m.name, lvl + 1)
            if m.bitfield_size:
                out.append(f": {m.bitfield_size}")
                off = m.bit_offset + m.bitfield_size
                prev_bitfield = True
            else:
                try:
                    size = btf.size(m.type)
                except Exception:
                    size = 0
                off = m.bit_offset + size * 8
                prev_bitfield = False
            out.append(";")
        if is_struct:
            self._padding(off, t.size * 8, align, False, lvl + 1)
        if t.members or t.size:
            out.append("\n" + "\t" * lvl + "}")
        else:
            out.append("}")
        if packed:
            out.append(" __attribute__((packed))")

    def enum_def(self, t: T.Enum, lvl: int) -> None:
        out = self.out
        out.append(f"enum {self.tname(t)}" if t.name else "enum")
        if not t.values:
            return
        out.append(" {")
        pfx = "\t" * (lvl + 1)
        is64 = t.kind == Kind.ENUM64
        for v in t.values:
            name = self.enumerator(v.name)
            if is64:
                out.append(f"\n{pfx}{name} = {v.value}{'LL' if t.signed else 'ULL'},")
            else:
                out.append(f"\n{pfx}{name} = {v.value},")
        out.append("\n" + "\t" * lvl + "}")
        # bpftool 7.1 (libbpf 1.1), the reference here, adds no mode(byte/word) attributes
