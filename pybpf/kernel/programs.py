"""Kernel programs: BPF_PROG_LOAD from a ProgramSpec, verifier logs, BPF_PROG_TEST_RUN.

``load_program`` patches the spec's map references with live map fds, loads
the program and, if the verifier rejects it, loads it again with the log on to
raise a ``VerifierError`` that names the failing instruction (and its source
line when the spec knows it). A ``KernelProgram`` owns its fd.
"""

from __future__ import annotations

import ctypes
import errno as E
import struct
import weakref

from ..asm.insn import Insn
from ..asm.opcodes import LDDW, PseudoSrc
from ..collection import Program, RunResult
from ..errors import BadInput, PybpfError
from ..spec import ProgramSpec, SourceLoc
from ..uapi import Cmd, ProgType
from .errors import BpfError, VerifierError, error_for
from .syscall import (
    BtfLoadAttr,
    ProgLoadAttr,
    TestRunAttr,
    addr_of,
    bpf_raw,
    close_fd,
    obj_name,
)

TYPE_CHECKING = False  # no runtime `typing` (3 ms of start-up): annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

LOG_START = 64 << 10
LOG_MAX = 256 << 20  # well under the kernel's limit (UINT_MAX >> 2)
_FUNC_INFO = struct.Struct("<II")  # struct bpf_func_info: insn_off, type_id
_LINE_INFO = struct.Struct("<IIII")  # struct bpf_line_info: insn_off, file/line name off, line_col


class KernelProgram(Program):
    """A loaded kernel program behind one fd owned by this object."""

    def __init__(self, fd: int, spec: ProgramSpec, *, verifier_log: str = "",
                 prog_id: int = 0) -> None:
        self.fd = fd
        self.spec = spec
        self.name = spec.name
        self.type = spec.type
        self.verifier_log = verifier_log
        self._id = prog_id
        self._finalizer = weakref.finalize(self, close_fd, fd)

    @classmethod
    def from_fd(cls, fd: int) -> KernelProgram:
        """Wrap an existing program fd (taking ownership)."""
        from .info import prog_details

        try:
            d = prog_details(fd)
        except BaseException:
            close_fd(fd)
            raise
        spec = ProgramSpec(d.name, ProgType(d.type), [])
        return cls(fd, spec, prog_id=d.id)

    @classmethod
    def from_id(cls, prog_id: int) -> KernelProgram:
        from .info import fd_by_id

        return cls.from_fd(fd_by_id("prog", prog_id))

    @classmethod
    def open_pinned(cls, path: str) -> KernelProgram:
        from .pin import obj_get

        return cls.from_fd(obj_get(path))

    @property
    def id(self) -> int:
        if not self._id:
            from .info import prog_details

            self._id = prog_details(self._checked_fd()).id
        return self._id

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def _checked_fd(self) -> int:
        if not self._finalizer.alive:
            raise PybpfError(f"program {self.name!r} is closed")
        return self.fd

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> KernelProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pin(self, path: str) -> None:
        from .pin import obj_pin

        obj_pin(self._checked_fd(), path)

    def info(self) -> Any:
        from .info import prog_details

        return prog_details(self._checked_fd(), xlated=True)

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1,
                 data_size_out: int | None = None, ctx_size_out: int | None = None,
                 flags: int = 0, cpu: int = 0, batch_size: int = 0) -> RunResult:
        """BPF_PROG_TEST_RUN: run on ``data`` (a packet) and/or ``ctx``; ``duration_ns`` is
        the kernel's mean time per repetition."""
        if self.type in (ProgType.SYSCALL, ProgType.RAW_TRACEPOINT):
            return self._run_ctx_only(ctx or b"", flags, cpu)
        din = ctypes.create_string_buffer(bytes(data), max(len(data), 1)) if data else None
        out_n = data_size_out if data_size_out is not None else (len(data) + 4096 if data else 0)
        cin = ctypes.create_string_buffer(bytes(ctx), max(len(ctx), 1)) if ctx else None
        cout_n = ctx_size_out if ctx_size_out is not None else (len(ctx) if ctx else 0)
        while True:
            dout = ctypes.create_string_buffer(out_n) if out_n else None
            cout = ctypes.create_string_buffer(cout_n) if cout_n else None
            attr = TestRunAttr(
                prog_fd=self._checked_fd(), data_size_in=len(data), data_size_out=out_n,
                data_in=addr_of(din), data_out=addr_of(dout), repeat=repeat,
                ctx_size_in=len(ctx) if ctx else 0, ctx_size_out=cout_n, ctx_in=addr_of(cin),
                ctx_out=addr_of(cout), flags=flags, cpu=cpu, batch_size=batch_size,
            )
            _, err = bpf_raw(Cmd.PROG_TEST_RUN, attr)
            if err == E.ENOSPC and data_size_out is None and int(attr.data_size_out) > out_n:
                out_n = int(attr.data_size_out)
                continue
            if err == E.ENOSPC and ctx_size_out is None and int(attr.ctx_size_out) > cout_n:
                cout_n = int(attr.ctx_size_out)  # the kernel writes back its whole ctx struct
                continue
            if err:
                raise error_for(Cmd.PROG_TEST_RUN, err, f"program {self.name!r}")
            break
        n_out = min(int(attr.data_size_out), out_n)
        c_out = min(int(attr.ctx_size_out), cout_n)
        return RunResult(
            retval=int(attr.retval),
            data_out=dout.raw[:n_out] if dout is not None else b"",
            ctx_out=cout.raw[:c_out] if cout is not None else b"",
            duration_ns=int(attr.duration),
        )

    def _run_ctx_only(self, ctx: bytes, flags: int, cpu: int) -> RunResult:
        """Syscall and raw tracepoint programs run once on ``ctx`` (the kernel refuses data,
        repeat and ctx_out for them); a syscall program may write ``ctx`` in place, which
        comes back as ``ctx_out``."""
        cin = ctypes.create_string_buffer(ctx, max(len(ctx), 1))
        attr = TestRunAttr(prog_fd=self._checked_fd(), ctx_size_in=len(ctx),
                           ctx_in=addr_of(cin) if ctx else 0, flags=flags, cpu=cpu)
        _, err = bpf_raw(Cmd.PROG_TEST_RUN, attr)
        if err:
            raise error_for(Cmd.PROG_TEST_RUN, err, f"program {self.name!r}")
        return RunResult(retval=int(attr.retval), ctx_out=cin.raw[:len(ctx)])

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fd}"
        return f"<KernelProgram {self.name!r} {self.type.name.lower()} {state}>"


# -- loading ------------------------------------------------------------------
def patch_map_refs(spec: ProgramSpec, fds: Mapping[str, int]) -> list[Insn]:
    """The spec's instructions with every MapRef's lddw pointing at its map fd."""
    insns = list(spec.insns)
    n = len(insns)
    for ref in spec.map_refs:
        i = ref.index
        if i < 0 or i + 1 >= n or insns[i].opcode != LDDW:
            raise PybpfError(f"program {spec.name!r}: instruction {i}: map reference "
                             f"{ref.name!r} is not on a 64-bit immediate load (lddw)")
        if ref.name not in fds:
            raise PybpfError(f"program {spec.name!r}: instruction {i}: map {ref.name!r} is "
                             f"not defined (known maps: {', '.join(sorted(fds)) or 'none'})")
        first = insns[i]
        kind = int(ref.kind)
        off = ref.offset if kind == PseudoSrc.MAP_VALUE else 0
        insns[i] = Insn(LDDW, first.dst, kind, 0, fds[ref.name])
        insns[i + 1] = Insn(0, 0, 0, 0, off)
    return insns


def load_btf(blob: bytes, *, log_level: int = 0) -> int:
    """BPF_BTF_LOAD: an fd for raw BTF ``blob`` (caller closes it)."""
    buf = ctypes.create_string_buffer(blob, len(blob))
    attr = BtfLoadAttr(btf=addr_of(buf), btf_size=len(blob))
    ret, err = bpf_raw(Cmd.BTF_LOAD, attr)
    if not err:
        return ret
    log = ctypes.create_string_buffer(LOG_START)
    attr = BtfLoadAttr(btf=addr_of(buf), btf_size=len(blob), btf_log_buf=addr_of(log),
                       btf_log_size=LOG_START, btf_log_level=max(log_level, 1))
    bpf_raw(Cmd.BTF_LOAD, attr)
    text = log.value.decode(errors="replace").strip()
    last = text.splitlines()[-1] if text else ""
    base = error_for(Cmd.BTF_LOAD, err, "BTF")
    if last:
        raise BpfError(f"loading BTF: the kernel rejected it: {last}", err, Cmd.BTF_LOAD)
    raise base


def _pack_records(records: Sequence[Any], st: struct.Struct, names: Sequence[str]) -> bytes:
    out = []
    for r in records:
        if isinstance(r, bytes | bytearray):
            out.append(bytes(r))
        elif isinstance(r, tuple | list):
            out.append(st.pack(*r))
        else:
            out.append(st.pack(*(getattr(r, n) for n in names)))
    return b"".join(out)


def _btf_blob(btf: Any) -> bytes | None:
    if btf is None:
        return None
    if isinstance(btf, bytes | bytearray):
        return bytes(btf)
    for attr in ("raw", "to_bytes", "encode"):
        v = getattr(btf, attr, None)
        if isinstance(v, bytes):
            return v
        if callable(v):
            out = v()
            if isinstance(out, bytes):
                return out
    return None


_BTF_ATTACHED = (ProgType.TRACING, ProgType.LSM)


def _needs_btf_id(spec: ProgramSpec) -> bool:
    """Tracing (tp_btf, fentry/fexit, iterators) and LSM programs load with the target's
    vmlinux BTF id; derive it from the attach type and target as libbpf does."""
    return spec.type in _BTF_ATTACHED and spec.attach_type is not None and bool(spec.attach_to)


def load_program(spec: ProgramSpec, maps: Mapping[str, Any] | None = None, *,
                 log_level: int = 0, log_size: int = LOG_START, btf_fd: int = 0,
                 attach_btf_obj_fd: int = 0, attach_prog_fd: int = 0,
                 attach_btf_id: int | None = None, prog_ifindex: int = 0,
                 fd_array: Sequence[int] = (), flags: int | None = None) -> KernelProgram:
    """BPF_PROG_LOAD ``spec`` with its map references bound to ``maps`` (name -> KernelMap or fd).

    ``log_level`` > 0 keeps the verifier log in ``KernelProgram.verifier_log`` even on
    success. On rejection raises ``VerifierError`` (one-line summary; ``.log`` has it all).
    Program BTF comes from ``btf_fd`` or ``spec.btf`` (raw bytes: loaded and closed here).
    """
    if not spec.insns:  # the kernel answers E2BIG ("too large") for 0 instructions
        raise BadInput(f"program {spec.name!r}: the program is empty (no instructions)")
    if attach_btf_id is None and not attach_prog_fd and _needs_btf_id(spec):
        from .links.btf_target import attach_btf_id as _btf_id_for

        assert spec.attach_type is not None
        attach_btf_id = _btf_id_for(spec.attach_type, spec.attach_to)
    fds = {name: int(getattr(m, "fd", m)) for name, m in (maps or {}).items()}
    insns = patch_map_refs(spec, fds)
    code = b"".join(i.encode() for i in insns)
    code_buf = ctypes.create_string_buffer(code, max(len(code), 1))
    lic = ctypes.create_string_buffer(spec.license.encode())

    own_btf = -1
    if not btf_fd and (spec.func_info or spec.line_info):
        blob = _btf_blob(spec.btf)
        if blob:
            own_btf = btf_fd = load_btf(blob)
    try:
        attr = ProgLoadAttr(
            prog_type=int(spec.type), insn_cnt=len(insns), insns=addr_of(code_buf),
            license=addr_of(lic), kern_version=spec.kern_version,
            prog_flags=spec.flags if flags is None else flags, prog_name=obj_name(spec.name),
            prog_ifindex=prog_ifindex,
            expected_attach_type=int(spec.attach_type) if spec.attach_type is not None else 0,
            attach_btf_id=attach_btf_id or 0, attach_prog_fd=attach_prog_fd or attach_btf_obj_fd,
        )
        keep: list[Any] = []
        if btf_fd:
            attr.prog_btf_fd = btf_fd
            if spec.func_info:
                fi = _pack_records(spec.func_info, _FUNC_INFO, ("insn_off", "type_id"))
                b = ctypes.create_string_buffer(fi, len(fi))
                keep.append(b)
                attr.func_info, attr.func_info_rec_size = addr_of(b), _FUNC_INFO.size
                attr.func_info_cnt = len(spec.func_info)
            if spec.line_info:
                li = _pack_records(spec.line_info, _LINE_INFO,
                                   ("insn_off", "file_name_off", "line_off", "line_col"))
                b = ctypes.create_string_buffer(li, len(li))
                keep.append(b)
                attr.line_info, attr.line_info_rec_size = addr_of(b), _LINE_INFO.size
                attr.line_info_cnt = len(spec.line_info)
        if fd_array:
            arr = (ctypes.c_int32 * len(fd_array))(*fd_array)
            keep.append(arr)
            attr.fd_array = addr_of(arr)
        return _load(spec, attr, log_level, log_size)
    finally:
        if own_btf >= 0:
            close_fd(own_btf)


def _load(spec: ProgramSpec, attr: ProgLoadAttr, log_level: int, log_size: int) -> KernelProgram:
    what = f"program {spec.name!r} ({spec.type.name.lower()})"
    if log_level == 0:
        ret, err = bpf_raw(Cmd.PROG_LOAD, attr)
        if not err:
            return KernelProgram(ret, spec)
        if err not in (E.EACCES, E.EINVAL, E.ERANGE, E.E2BIG, E.EFAULT, E.ENOENT, E.ENOTSUP,
                       524) or err == E.EPERM:
            raise error_for(Cmd.PROG_LOAD, err, what)
        log_level = 1
        keep_log = False
    else:
        keep_log = True
    size = max(log_size, 4096)
    while True:
        buf = ctypes.create_string_buffer(size)
        attr.log_level, attr.log_size, attr.log_buf = log_level, size, addr_of(buf)
        ret, err = bpf_raw(Cmd.PROG_LOAD, attr)
        log = buf.value.decode(errors="replace")
        if err == E.ENOSPC and size < LOG_MAX:
            want = int(attr.log_true_size)
            size = min(max(want + 1, size * 4), LOG_MAX)
            continue
        break
    attr.log_level, attr.log_size, attr.log_buf = 0, 0, 0
    if not err:
        return KernelProgram(ret, spec, verifier_log=log if keep_log else "")
    if not log.strip():
        if err == E.EINVAL:
            from .features import have_prog_type

            if not have_prog_type(spec.type):
                raise BpfError(f"loading {what}: this kernel does not support "
                               f"{spec.type.name.lower()} programs (see `pybpf feature`)",
                               err, Cmd.PROG_LOAD)
        raise error_for(Cmd.PROG_LOAD, err, what)
    raise verifier_error(spec, log, err)


_INSN_LINE = r"^(\d+): \(([0-9a-f]{2})\)"
_INSN_IN_MSG = r"\binsn (\d+)"
_TAIL = (r"^(processed \d+ insns|verification time|stack depth|max_states_per_insn|"
         r"mark_precise|-- END PROG LOAD LOG --)")


def verifier_error(spec: ProgramSpec, log: str, err: int = E.EACCES) -> VerifierError:
    """A ``VerifierError`` for ``log``: the error line, the failing instruction, its source."""
    import re  # only on this error path: `re` costs every process ~3 ms of start-up

    lines = [ln for ln in log.splitlines() if ln.strip()]
    body = [ln for ln in lines if not re.match(_TAIL, ln)]
    summary = body[-1].strip() if body else "rejected"
    insn: int | None = None
    at = len(body)
    for j in range(len(body) - 1, -1, -1):
        m = re.match(_INSN_LINE, body[j])
        if m:
            insn, at = int(m.group(1)), j
            break
    if insn is None:  # structural errors name the instruction in the message itself
        m2 = re.search(_INSN_IN_MSG, summary)
        if m2:
            insn = int(m2.group(1))
    where = f"instruction {insn}" if insn is not None else "load"
    src = source_of(spec, insn)
    if src is not None:
        where += f" ({src}{': ' + src.text.strip() if src.text else ''})"
    trimmed = "\n".join(body[max(0, at - 20):])
    msg = (f"program {spec.name!r} ({spec.type.name.lower()}) rejected by the verifier at "
           f"{where}: {summary}")
    return VerifierError(msg, log, err, insn, summary, trimmed)


def source_of(spec: ProgramSpec, insn: int | None) -> SourceLoc | None:
    """The source location of instruction ``insn`` (or the nearest one before it)."""
    if insn is None or not spec.source_map:
        return None
    if insn in spec.source_map:
        return spec.source_map[insn]
    before = [i for i in spec.source_map if i <= insn]
    return spec.source_map[max(before)] if before else None


__all__ = ["KernelProgram", "load_btf", "load_program", "patch_map_refs", "verifier_error"]
