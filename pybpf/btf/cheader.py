"""A whole BTF as one C header, the way ``bpftool btf dump ... format c`` writes vmlinux.h.

libbpf's btf_dump order: for every type in id order, a depth-first topological
sort decides what must be fully defined first (embedded types: "strong" links)
and what a forward declaration satisfies (named types behind a pointer: "weak");
then each queued type is emitted, with forward declarations or typedefs where a
cycle needs them. Names used twice get ``___2``, ``___3`` suffixes in the order
they are first printed.
"""

from __future__ import annotations

import sys

from . import types as T
from .cdump import _Emitter
from .format import Kind

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only

if TYPE_CHECKING:
    from .parse import Btf

HEADER = """\
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

"""
FOOTER = """\
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
"""

_NOT, _DOING, _DONE = 0, 1, 2


class _HeaderEmitter(_Emitter):
    def __init__(self, btf: Btf, out: list[str]) -> None:
        super().__init__(btf, out)
        n = btf.nr_types
        self.order = bytearray(n)
        self.emit = bytearray(n)
        self.fwd = bytearray(n)
        self.referenced = bytearray(n)
        self.order[0] = self.emit[0] = _DONE
        self.cached: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}
        self.queue: list[int] = []

    # -- names ----------------------------------------------------------------------------

    def _dups(self, names: dict[str, int], name: str) -> int:
        names[name] = names.get(name, 0) + 1
        return names[name]

    def _resolve(self, t: T.Type, names: dict[str, int]) -> str:
        if not t.name:
            return ""
        got = self.cached.get(t.id)
        if got is not None:
            return got
        if isinstance(t, T.Fwd) or (isinstance(t, T.Enum) and not t.values):
            name = t.name
        else:
            n = self._dups(names, t.name)
            name = f"{t.name}___{n}" if n > 1 else t.name
        self.cached[t.id] = name
        return name

    def tname(self, t: T.Type) -> str:
        return self._resolve(t, self.type_names)

    def iname(self, t: T.Type) -> str:
        return self._resolve(t, self.ident_names)

    def enumerator(self, name: str) -> str:
        n = self._dups(self.ident_names, name)
        return f"{name}___{n}" if n > 1 else name

    # -- ordering -------------------------------------------------------------------------

    def mark_referenced(self) -> None:
        ref = self.referenced
        for t in self.btf.types():
            if isinstance(t, T.Struct):
                for m in t.members:
                    ref[m.type] = 1
            elif isinstance(t, T.Array):
                ref[t.index_type] = ref[t.type] = 1
            elif isinstance(t, T.FuncProto):
                for p in t.params:
                    ref[p.type] = 1
            elif isinstance(t, T.Datasec):
                for v in t.vars:
                    ref[v.type] = 1
            elif isinstance(t, T.Ref):
                ref[t.type] = 1

    def order_type(self, tid: int, through_ptr: bool) -> int:
        """1: strong link (must be defined first), 0: weak (a forward decl will do)."""
        if self.order[tid] == _DONE:
            return 1
        t = self.btf[tid]
        k = t.kind
        if self.order[tid] == _DOING:
            if isinstance(t, T.Struct) and through_ptr and t.name:
                return 0
            return -1  # unsatisfiable cycle: libbpf gives up on this type too
        if k in (Kind.INT, Kind.FLOAT):
            self.order[tid] = _DONE
            return 0
        if isinstance(t, T.Ptr):
            r = self.order_type(t.type, True)
            self.order[tid] = _DONE
            return r
        if isinstance(t, T.Array):
            return self.order_type(t.type, False)
        if isinstance(t, T.Struct):
            if through_ptr and t.name:
                return 0
            self.order[tid] = _DOING
            for m in t.members:
                if self.order_type(m.type, False) < 0:
                    return -1
            if t.name:
                self.queue.append(tid)
            self.order[tid] = _DONE
            return 1
        if isinstance(t, T.Enum | T.Fwd):
            if t.name or not self.referenced[tid]:
                self.queue.append(tid)
            self.order[tid] = _DONE
            return 1
        if isinstance(t, T.Typedef):
            strong = self.order_type(t.type, through_ptr)
            if strong < 0:
                return strong
            if through_ptr and not strong:
                return 0
            self.queue.append(tid)
            self.order[tid] = _DONE
            return 1
        if k in (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
            return self.order_type(t.type, through_ptr)  # type: ignore[attr-defined]
        if isinstance(t, T.FuncProto):
            r = self.order_type(t.ret, through_ptr)
            if r < 0:
                return r
            strong = r > 0
            for p in t.params:
                r = self.order_type(p.type, through_ptr)
                if r < 0:
                    return r
                strong = strong or r > 0
            return int(strong)
        self.order[tid] = _DONE  # func, var, datasec, decl_tag
        return 0

    # -- emitting -------------------------------------------------------------------------

    def _typedef_def(self, t: T.Typedef) -> None:
        name = self.iname(t)
        if t.type == 0 and name == "__gnuc_va_list":
            self.out.append("typedef __builtin_va_list __gnuc_va_list")
            return
        self.out.append("typedef ")
        self.type_decl(t.type, name, 0)

    def emit_type(self, tid: int, cont_id: int) -> None:
        if self.emit[tid] == _DONE:
            return
        t = self.btf[tid]
        out = self.out
        if self.emit[tid] == _DOING:
            if self.fwd[tid]:
                return
            if isinstance(t, T.Struct):
                if tid == cont_id or not t.name:
                    return
                out.append(f"{'union' if t.kind == Kind.UNION else 'struct'} {self.tname(t)};\n\n")
                self.fwd[tid] = 1
            elif isinstance(t, T.Typedef):
                if t.name != "__builtin_va_list":
                    self._typedef_def(t)
                    out.append(";\n\n")
                self.fwd[tid] = 1
            return
        if isinstance(t, T.Enum):
            if cont_id == 0:
                self.enum_def(t, 0)
                out.append(";\n\n")
            self.emit[tid] = _DONE
        elif isinstance(t, T.Array):
            self.emit_type(t.type, cont_id)
        elif isinstance(t, T.Fwd):
            out.append(f"{'union' if t.is_union else 'struct'} {self.tname(t)};\n\n")
            self.emit[tid] = _DONE
        elif isinstance(t, T.Typedef):
            self.emit[tid] = _DOING
            self.emit_type(t.type, tid)
            if not self.fwd[tid] and t.name != "__builtin_va_list":
                self._typedef_def(t)
                out.append(";\n\n")
            self.emit[tid] = _DONE
        elif isinstance(t, T.Struct):
            self.emit[tid] = _DOING
            if cont_id == 0 or not t.name:
                new_cont = tid if t.name else cont_id
                for m in t.members:
                    self.emit_type(m.type, new_cont)
            elif not self.fwd[tid] and tid != cont_id:
                out.append(f"{'union' if t.kind == Kind.UNION else 'struct'} {self.tname(t)};\n\n")
                self.fwd[tid] = 1
            if cont_id == 0:
                self.struct_def(t, 0)
                out.append(";\n\n")
                self.emit[tid] = _DONE
            else:
                self.emit[tid] = _NOT
        elif isinstance(t, T.FuncProto):
            self.emit_type(t.ret, cont_id)
            for p in t.params:
                self.emit_type(p.type, cont_id)
        elif isinstance(t, T.Ref) and t.kind in (Kind.PTR, Kind.VOLATILE, Kind.CONST,
                                                 Kind.RESTRICT, Kind.TYPE_TAG):
            self.emit_type(t.type, cont_id)
        elif t.kind == Kind.INT:
            self.emit[tid] = _DONE


def dump_header(btf: Btf) -> str:
    """Every type of ``btf`` (not its base) as one compilable C header."""
    out: list[str] = [HEADER]
    e = _HeaderEmitter(btf, out)
    e.mark_referenced()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    try:
        for tid in range(btf.start_id, btf.nr_types):
            e.queue = []
            if e.order_type(tid, False) < 0:
                continue
            for q in e.queue:
                e.emit_type(q, 0)
    finally:
        sys.setrecursionlimit(old)
    out.append(FOOTER)
    return "".join(out)
