"""Make an ObjectSpec live in the kernel: the ``ObjectCollection`` and its programs.

Maps come from the kernel backend's ``load_collection`` (all or nothing); programs are
loaded here because BTF-attached ones (tp_btf, fentry, lsm, iter) each need their own
``attach_btf_id``, and a CO-RE relocation that poisoned an instruction turns a verifier
rejection into a message naming the relocation.
"""

from __future__ import annotations

from ..errors import PybpfError
from ..kernel.collection import KernelCollection, load_collection
from ..kernel.errors import VerifierError
from ..kernel.programs import KernelProgram, load_program, source_of
from ..spec import CollectionSpec
from ..uapi import MapType
from .core import POISON_IMM
from .lookup import named
from .object import ObjectSpec, attach_btf_name, pinned_path

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


class ObjectProgram(KernelProgram):
    """A loaded program that knows where its SEC() name says to attach."""

    links: list[Any]

    def attach(self, target: str | None = None, **kw: Any) -> Any:
        from ..kernel.links import attach

        link = attach(self, target, **kw)
        self.links.append(link)
        return link

    def close(self) -> None:
        for link in getattr(self, "links", []):
            link.close()
        self.links = []
        super().close()


class ObjectCollection(KernelCollection):
    def __init__(self, spec: ObjectSpec, programs: dict[str, ObjectProgram],
                 maps: dict[str, Any], btf_fd: int) -> None:
        super().__init__(dict(programs), maps, btf_fd)
        self.spec = spec
        self.links: list[Any] = []

    def attach_all(self) -> list[Any]:
        """Attach every program whose section names a target (like libbpf's auto-attach);
        programs whose section needs an explicit target (xdp, tc, socket...) are skipped."""
        from .._gcpause import paused_gc

        out = []
        with paused_gc():
            for p in self.programs.values():
                if _auto_attachable(p):
                    out.append(p.attach())
        if self.spec.struct_ops:  # struct_ops hook: .struct_ops.link maps attach, not progs
            from .struct_ops import attach_struct_ops

            out.extend(attach_struct_ops(self))
        self.links.extend(out)
        return out

    def ring_buffer(self, name: str, callback: Any = None, *, record: str | None = None) -> Any:
        """A RingBuffer reader on map ``name``; records decode into named tuples of the
        object's BTF struct ``record`` (e.g. "event"), else stay bytes."""
        from ..kernel.ringbuf import RingBuffer

        fmt, dec = self.spec.record_format(record, name)
        return RingBuffer(self._map(name), callback, record=fmt, decode=dec)

    def perf_buffer(self, name: str, callback: Any = None, *, record: str | None = None,
                    **kw: Any) -> Any:
        """A PerfBuffer reader on map ``name``, decoding like ``ring_buffer``."""
        from ..kernel.perfbuf import PerfBuffer

        fmt, dec = self.spec.record_format(record, name)
        return PerfBuffer(self._map(name), callback, record=fmt, decode=dec, **kw)

    def _map(self, name: str) -> Any:
        return named(self.maps, name, "map", self.spec.path)

    def close(self) -> None:
        for view in self.spec.data.values():
            view.live = None
        super().close()


def _auto_attachable(p: Any) -> bool:
    sec = p.spec.section
    if p.spec.type in (4, 6, 1, 8, 9, 18, 13, 25, 15, 23, 27):  # net/cgroup types need a target
        # (27, struct_ops: its map attaches, not the program; struct_ops hook)
        return False
    return bool(p.spec.attach_to) or "/" in sec or sec in ("perf_event",)


def load_object(spec: ObjectSpec, *, pin_root: str | None = None, pin_dir: str | None = None,
                log_level: int = 0, **prog_opts: Any) -> ObjectCollection:
    """Maps (``pin_dir``: every map pinned there by name, reusing existing pins), then
    programs; see ``ObjectSpec.load``."""
    import os

    if pin_dir:
        os.makedirs(pin_dir, exist_ok=True)
    maps_only = CollectionSpec({}, {}, spec.btf)
    for name, ms in spec.maps.items():
        if name in spec.struct_ops:
            continue  # struct_ops hook: created after the programs (load_struct_ops)
        m2 = ms.copy()
        path = pinned_path(spec.map_defs.get(name), name, pin_root)
        if pin_dir and not path and name not in spec.data and name != ".kconfig":
            path = f"{pin_dir}/{name}"  # global data stays private, as in libbpf
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            m2.pin_path = path
        maps_only.maps[name] = m2
    kc: KernelCollection = load_collection(maps_only)
    progs: dict[str, ObjectProgram] = {}
    so_ids: dict[str, int] = {}
    if spec.struct_ops:  # struct_ops hook: the kernel struct each program implements
        from .struct_ops import load_struct_ops, struct_ops_btf_ids

        so_ids = struct_ops_btf_ids(spec)
    try:
        _init_slots(spec, kc, None)
        for name, ps in spec.programs.items():
            if not ps.autoload:
                continue
            opts = dict(prog_opts)
            if name in so_ids:  # struct_ops hook
                opts.setdefault("attach_btf_id", so_ids[name])
            info = spec.prog_info.get(name)
            if info is not None:
                bname, kind = attach_btf_name(info, ps.attach_to)
                if bname:
                    opts.setdefault("attach_btf_id", _kernel_btf_id(bname, kind, name))
            if kc.btf_fd >= 0 and (ps.func_info or ps.line_info):
                opts.setdefault("btf_fd", kc.btf_fd)
            try:
                kp = load_program(ps, kc.maps, log_level=log_level, **opts)
            except VerifierError as e:
                raise _explain(spec, name, e) from None
            kp.__class__ = ObjectProgram
            kp.links = []  # type: ignore[attr-defined]
            progs[name] = kp  # type: ignore[assignment]
        _init_slots(spec, kc, progs)
        if spec.struct_ops:  # struct_ops hook: maps with program fds in their value
            kc.maps.update(load_struct_ops(spec, progs, kc.btf_fd))
    except BaseException:
        for p in progs.values():
            p.close()
        kc.close()
        raise
    coll = ObjectCollection(spec, progs, dict(kc.maps), kc.btf_fd)
    kc.btf_fd = -1
    kc.maps = {}
    for name, m in coll.maps.items():
        want = spec.maps.get(name)
        if want is not None and (want.key_type is not None or want.value_type is not None):
            m.typed(want.key_type, want.value_type)  # also for maps reused from a pin
    for name, view in spec.data.items():
        view.live = coll.maps.get(name)
    return coll


def _kernel_btf_id(name: str, kind: str, prog: str) -> int:
    from ..btf import BtfNotFound, Kind, find_kernel_type

    try:
        return find_kernel_type(name, Kind[kind])[1]
    except BtfNotFound:
        raise PybpfError(f"program {prog!r}: attach target {name} is not in the kernel's "
                         "BTF; check the SEC() name") from None


def _init_slots(spec: ObjectSpec, kc: KernelCollection, progs: dict[str, Any] | None) -> None:
    """Initial slots of maps of maps (first call) and program arrays (once programs exist)."""
    for name, md in spec.map_defs.items():
        if not md.init_slots or name not in kc.maps:
            continue
        m = kc.maps[name]
        is_prog = m.type == MapType.PROG_ARRAY
        if is_prog != (progs is not None):
            continue
        for slot, target in md.init_slots.items():
            pool: Any = progs if is_prog else kc.maps
            if target not in pool:
                if is_prog and target in spec.programs:
                    continue  # not autoloaded
                raise PybpfError(f"map {name!r}: slot {slot} names {target!r}, which is not "
                                 f"a {'program' if is_prog else 'map'} of the object")
            m.update_raw(slot.to_bytes(4, "little"),
                         int(pool[target].fd).to_bytes(4, "little"))


def _explain(spec: ObjectSpec, name: str, e: VerifierError) -> PybpfError:
    info = spec.prog_info.get(name)
    if info is None or not info.poisoned:
        return e
    insn = e.insn
    msg = info.poisoned.get(insn) if insn is not None else None
    if msg is None and str(POISON_IMM) in e.log:
        insn, msg = next(iter(sorted(info.poisoned.items())))
    if msg is None:
        return e
    ps = spec.programs[name]
    src = source_of(ps, insn)
    where = f"instruction {insn}"
    if src is not None:
        where += f" ({src}{': ' + src.text.strip() if src.text else ''})"
    return PybpfError(f"program {name!r} (section {ps.section}) failed to load at {where}: "
                      f"{msg}")
