"""Finish a clang object's BTF before the kernel sees it.

clang leaves every DATASEC's size and its variables' offsets as 0 (they are only
known after linking); libbpf fills them from the ELF section sizes and symbol
values, and so does ``patch_datasecs``. The blob is patched in place on a copy:
ids and strings stay exactly as the object has them, so .BTF.ext records that
name type ids remain valid.
"""

from __future__ import annotations

import struct

from . import types as T
from .format import HEADER
from .parse import Btf, BtfNotFound

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping


def patch_datasecs(btf: Btf, section_sizes: Mapping[str, int],
                   symbol_offsets: Mapping[str, int]) -> bytes:
    """A copy of ``btf.raw`` with DATASEC sizes from ``section_sizes`` (ELF section name ->
    size) and each variable's offset from ``symbol_offsets`` (symbol name -> st_value).

    A DATASEC whose section is not in ``section_sizes`` keeps its size (e.g. ``.maps``
    handled elsewhere); a variable missing from ``symbol_offsets`` raises BtfNotFound.
    """
    if btf.base is not None:
        raise BtfNotFound(f"{btf.name}: patching split BTF is not supported")
    out = bytearray(btf.raw)
    _m, _v, _f, hdr_len, t_off, _tl, _so, _sl = HEADER.unpack_from(out)
    base = hdr_len + t_off
    for tid in range(btf.start_id, btf.nr_types):
        if btf.kind_of(tid) != T.Datasec.kind:
            continue
        sec = btf[tid]
        assert isinstance(sec, T.Datasec)
        rec = base + btf._record(tid)[0] * 4
        if sec.name in section_sizes:
            struct.pack_into("<I", out, rec + 8, section_sizes[sec.name])
        for i, v in enumerate(sec.vars):
            var = btf[v.type]
            if var.kind != T.Var.kind:
                continue
            if var.name not in symbol_offsets:
                raise BtfNotFound(f"{btf.name}: section {sec.name}: variable {var.name!r} has "
                                  "no symbol in the object's symbol table")
            struct.pack_into("<I", out, rec + 12 + 12 * i + 4, symbol_offsets[var.name])
    return bytes(out)
