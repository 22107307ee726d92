"""BTF wire format constants (Documentation/bpf/btf.rst, include/uapi/linux/btf.h).

One table says how long each kind's trailer is, so the reader and the writer
agree on record layout in a single place.
"""

from __future__ import annotations

import struct

from .._fastenum import IntEnumBase, fast_enum

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
HEADER = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, type_off/len, str_off/len
HEADER_LEN = HEADER.size  # 24

TYPE_HDR = struct.Struct("<III")  # name_off, info, size_or_type
MAX_VLEN = 0xFFFF


@fast_enum
class Kind(IntEnumBase):
    """BTF_KIND_*."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


MAX_KIND = 19

# Trailer length in 32-bit words: FIXED[kind] + PER_VLEN[kind] * vlen.
FIXED_WORDS = (0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0)
PER_VLEN_WORDS = (0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3)

# BTF_INT_ENCODING bits (in the INT trailer word, bits 24..27)
INT_SIGNED = 1
INT_CHAR = 2
INT_BOOL = 4

# BTF_FUNC_* / BTF_VAR_* linkage
FUNC_STATIC, FUNC_GLOBAL, FUNC_EXTERN = 0, 1, 2
VAR_STATIC, VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN = 0, 1, 2

# Kinds that just point at another type and add nothing to its layout.
MODIFIERS = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
PASS_THROUGH = MODIFIERS | {Kind.TYPEDEF}


def make_info(kind: int, vlen: int = 0, kflag: bool = False) -> int:
    """The ``info`` word of a type record."""
    return (int(kflag) << 31) | (kind << 24) | (vlen & 0xFFFF)


def record_words(kind: int, vlen: int) -> int:
    """Whole record length (header included) in 32-bit words."""
    return 3 + FIXED_WORDS[kind] + PER_VLEN_WORDS[kind] * vlen


# bpf_func_info and bpf_line_info (include/uapi/linux/bpf.h)
FUNC_INFO = struct.Struct("<II")  # insn_off, type_id
LINE_INFO = struct.Struct("<IIII")  # insn_off, file_name_off, line_off, line << 10 | col
