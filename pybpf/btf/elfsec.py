"""Find one section of an ELF object by name (enough for ``.BTF``/``.BTF.ext``;
the object loader proper lives in ``pybpf.elf``)."""

from __future__ import annotations

import struct

from .parse import BtfError


def elf_section(data: bytes, name: str, path: str = "<object>") -> bytes | None:
    """The bytes of section ``name`` of a little-endian ELF64 file, or None."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        raise BtfError(f"{path}: not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise BtfError(f"{path}: only little-endian ELF64 objects are supported")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff + shnum * shentsize > len(data) or shstrndx >= shnum:
        raise BtfError(f"{path}: section headers lie outside the file")
    hdr = struct.Struct("<IIQQQQ")  # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size

    def sh(i: int) -> tuple[int, int, int]:
        n, _t, _f, _a, off, size = hdr.unpack_from(data, shoff + i * shentsize)
        return n, off, size

    _n, str_off, _s = sh(shstrndx)
    want = name.encode()
    for i in range(shnum):
        n, off, size = sh(i)
        end = data.find(b"\0", str_off + n)
        if data[str_off + n:end] == want:
            if off + size > len(data):
                raise BtfError(f"{path}: section {name} lies outside the file")
            return data[off:off + size]
    return None
