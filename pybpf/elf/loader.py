"""``load_collection_spec(path)``: a clang-built libbpf-style object -> ``ObjectSpec``.

Order (libbpf's): read the ELF; parse .BTF/.BTF.ext; maps (.maps, legacy ``maps``),
global data and externs; CO-RE per code section; link each program (relocations,
subprograms, func/line info); fix the BTF up for the kernel.
"""

from __future__ import annotations

import os
import struct

from .._gcpause import paused_gc
from ..btf.format import Kind
from ..errors import BadInput, PybpfError
from ..spec import MapSpec, ProgramSpec, SourceLoc
from ..uapi import MapType
from .globals import (
    BPF_F_MMAPABLE,
    BPF_F_RDONLY_PROG,
    KCONFIG,
    DataView,
    collect_externs,
    data_map,
    is_data_section,
    kconfig_bytes,
    resolve_ksyms,
    section_vars,
)
from .maps import MapDef, btf_maps, legacy_maps
from .object import ObjectSpec, ProgInfo
from .reader import STB_LOCAL, STT_FUNC, ElfFile, read_elf
from .relocate import Binder, CodeSection, func_size, link_program
from .sections import attach_target, find_section_def

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def load_collection_spec(path: str, *, kconfig: dict[str, str] | None = None,
                         core_candidates: Any = None) -> ObjectSpec:
    """Parse object ``path``. ``kconfig`` overrides the kernel config (CONFIG_X -> "y");
    ``core_candidates(name, kind) -> [(Btf, id)]`` overrides the kernel BTF used by CO-RE."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise PybpfError(f"{path}: no such file") from None
    except OSError as e:
        raise PybpfError(f"{path}: cannot read: {e.strerror}") from None
    return load_object_bytes(data, path, kconfig=kconfig, core_candidates=core_candidates)


def load_object_bytes(data: bytes, path: str = "<object>", *,
                      kconfig: dict[str, str] | None = None,
                      core_candidates: Any = None) -> ObjectSpec:
    """``load_collection_spec`` on bytes already read (``path`` names them in errors)."""
    try:
        with paused_gc():
            return _load(data, path, kconfig, core_candidates)
    except BadInput as e:
        msg = str(e)
        raise BadInput(msg if msg.startswith(path) else f"{path}: {msg}") from None
    except (struct.error, IndexError, OverflowError) as e:
        # a corrupt field that no specific check caught: still one line, naming the file
        raise BadInput(f"{path}: malformed object ({e}); rebuild it with clang -target bpf") \
            from None


def _load(data: bytes, path: str, kconfig: dict[str, str] | None,
          core_candidates: Any) -> ObjectSpec:
    from ..btf import Btf, BtfError, parse_btf_ext

    elf = read_elf(data, path)
    btf: Btf | None = None
    ext = None
    sec = elf.section(".BTF")
    if sec is not None:
        try:
            btf = Btf.from_bytes(sec.data, name=f"{path}: .BTF")
            esec = elf.section(".BTF.ext")
            if esec is not None:
                ext = parse_btf_ext(esec.data, btf, f"{path}: .BTF.ext")
        except BtfError as e:
            raise BadInput(str(e)) from None
    lic = elf.section("license")
    license = lic.data.split(b"\0", 1)[0].decode(errors="replace") if lic else "GPL"
    ver = elf.section("version")
    kern_version = int.from_bytes(ver.data[:4], "little") if ver and len(ver.data) >= 4 else 0

    spec = ObjectSpec(path=path, license=license)
    spec.obj_btf = btf
    map_sections: dict[int, str] = {}
    defs: dict[str, MapDef] = {}
    for s in elf.sections:
        if s.name == ".maps":
            map_sections[s.index] = "btf"
            defs.update(btf_maps(elf, s, btf))
        elif s.name == "maps" or s.name.startswith("maps/"):
            map_sections[s.index] = "legacy"
            defs.update(legacy_maps(elf, s))
    from .codec import btf_codec

    for name, md in defs.items():
        ms = md.spec
        if btf is not None:
            ms.key_type = btf_codec(btf, ms.btf_key_type_id) if ms.btf_key_type_id else None
            ms.value_type = btf_codec(btf, ms.btf_value_type_id) \
                if ms.btf_value_type_id else None
            if ms.inner is not None:
                ms.inner.key_type = ms.inner.value_type = None
        spec.maps[name] = ms
        spec.map_defs[name] = md

    data_sections: dict[int, str] = {}
    sec_sizes = {s.name: s.size for s in elf.sections}
    sec_syms: dict[str, dict[str, int]] = {}
    for sym in elf.symbols:
        if sym.type == 1 and 0 < sym.shndx < len(elf.sections):  # STT_OBJECT
            sec_syms.setdefault(elf.sections[sym.shndx].name, {})[sym.name] = sym.value
    for s in elf.sections:
        if not is_data_section(s.name) or s.is_code:
            continue
        vars_ = section_vars(elf, s, btf)
        if s.size == 0:
            continue
        ms = data_map(s, btf)
        spec.maps[s.name] = ms
        data_sections[s.index] = s.name
        spec.data[s.name] = DataView(s.name, vars_, btf, ms)

    externs = collect_externs(elf, btf)
    kc = {n: (e.offset, e.size) for n, e in externs.by_name.items() if e.kind == KCONFIG}
    if kc and btf is not None:
        value = kconfig_bytes(externs, btf, path, kconfig)
        # as libbpf: read-only for programs, mmapable, typed by the fixed-up DATASEC
        kms = spec.maps[".kconfig"] = MapSpec(".kconfig", MapType.ARRAY, 4, len(value), 1,
                                              BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
                                              contents=[(bytes(4), value)], freeze=True)
        kms.btf_value_type_id = next(iter(btf.find_all(".kconfig", Kind.DATASEC)), 0)
    if any(e.kind != KCONFIG for e in externs.by_name.values()):
        resolve_ksyms(externs, path)

    code = _code_sections(elf, btf, ext, path, core_candidates)
    binder = Binder(elf, map_sections, data_sections, externs, code)
    for cs in code.values():
        if cs.name == ".text":
            continue
        # SEC("?name"): a program that is not loaded unless autoload is switched on
        secname = cs.name[1:] if cs.name.startswith("?") else cs.name
        d = find_section_def(secname)
        if d is None:
            raise BadInput(f"{path}: section {cs.name}: unknown program type; use a libbpf "
                           "SEC() name such as tracepoint/..., xdp, kprobe/...")
        progs = sorted((s for s in cs.funcs.values() if s.bind != STB_LOCAL),
                       key=lambda s: s.value)
        if not progs:
            raise BadInput(f"{path}: section {cs.name} holds code but no global function")
        for sym in progs:
            start = sym.value // 8
            linked = link_program(binder, cs, start, func_size(cs, start), sym.name)
            ps = ProgramSpec(sym.name, d.prog_type, linked.insns, license, secname,
                             d.attach_type, attach_target(d, secname), linked.map_refs,
                             linked.source_map, kern_version, d.load_flags(),
                             autoload=secname == cs.name)
            if btf is not None and linked.func_info:
                ps.func_info = linked.func_info
                ps.line_info = linked.line_info
            if sym.name in spec.programs:
                raise BadInput(f"{path}: two programs are named {sym.name!r}")
            spec.programs[sym.name] = ps
            spec.prog_info[sym.name] = ProgInfo(d, linked.poisoned)
    if any(s.name.removeprefix("?").startswith(".struct_ops") for s in elf.sections) or any(
            p.type == 27 for p in spec.programs.values()):  # struct_ops hook (27: STRUCT_OPS)
        from .struct_ops import collect_struct_ops

        collect_struct_ops(elf, btf, spec)
    if btf is not None:
        from .btf_fixup import fixup_btf

        spec.btf = fixup_btf(bytes(btf.raw), path, sec_sizes, sec_syms, kc, externs.kconfig_size)
        for ps in spec.programs.values():
            if ps.func_info:
                ps.btf = spec.btf
    return spec


def _code_sections(elf: ElfFile, btf: Any, ext: Any, path: str,
                   cands: Any) -> dict[int, CodeSection]:
    from .core import apply_core

    out: dict[int, CodeSection] = {}
    base_names: dict[str, str] = {}
    memo: dict[Any, Any] = {}  # CO-RE answers shared by every section of the object
    for s in elf.sections:
        if not s.is_code or not s.size:
            continue
        if s.size % 8:
            raise BadInput(f"{path}: section {s.name}: {s.size} bytes is not a whole number "
                           "of 8-byte instructions")
        funcs = {sym.value // 8: sym for sym in elf.symbols
                 if sym.shndx == s.index and sym.type == STT_FUNC}
        relocs: dict[int, int] = {}
        for r in elf.relocs.get(s.index, []):
            if r.offset % 8 or r.offset >= s.size:
                raise BadInput(f"{path}: section {s.name}: relocation offset {r.offset:#x} is "
                               f"out of range (section is {s.size} bytes)")
            relocs[r.offset // 8] = r.sym
        cs = CodeSection(s.index, s.name, bytearray(s.data), funcs, relocs)
        if ext is not None:
            cs.func_info = [(f.insn, f.type_id) for f in ext.func_info.get(s.name, [])]
            for li in ext.line_info.get(s.name, []):
                # BTF fix-ups patch in place: the object's string offsets stay valid
                cs.line_info.append((li.insn, li.file_off, li.line_off, (li.line << 10) | li.col))
                base = base_names.get(li.file_name)
                if base is None:
                    base = base_names[li.file_name] = os.path.basename(li.file_name)
                cs.lines[li.insn] = SourceLoc(base, li.line, li.col, li.line_text)
            relos = ext.core_relos.get(s.name, [])
            if relos:
                cs.poisoned = apply_core(cs.code, btf, relos, s.name, path, cands, memo)
        out[s.index] = cs
    return out
