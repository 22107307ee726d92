"""Hand-built BPF programs for the link tests (no compiler): counters in maps.

Each builder returns a ProgramSpec whose map references name the maps the
test creates with ``counter_maps()``.
"""

from __future__ import annotations

from functools import partial

from pybpf.asm import builder as b
from pybpf.asm.insn import Insn, lddw
from pybpf.asm.opcodes import PseudoSrc
from pybpf.spec import MapRef, MapSpec, ProgramSpec
from pybpf.uapi import AttachType, MapType, ProgType

# Short names for the instructions these programs use, on top of pybpf.asm.builder.
mov, movr, call, ja = b.mov64_imm, b.mov64_reg, b.call_helper, b.ja
add = partial(b.alu64_imm, "add")
ldx64, ldx32 = partial(b.ldx_mem, "dw"), partial(b.ldx_mem, "w")
stx64, stx32 = partial(b.stx_mem, "dw"), partial(b.stx_mem, "w")
st64, st32 = partial(b.st_mem, "dw"), partial(b.st_mem, "w")
atomic_add64 = partial(b.atomic_op, "dw", "add")
jeq, jne = partial(b.jmp_imm, "jeq"), partial(b.jmp_imm, "jne")
EXIT = b.exit_insn()


class Asm:
    """Collects instructions and map references (lddw of a map fd)."""

    def __init__(self) -> None:
        self.insns: list[Insn] = []
        self.refs: list[MapRef] = []

    def __call__(self, *insns: Insn) -> Asm:
        self.insns.extend(insns)
        return self

    def ld_map(self, dst: int, name: str) -> Asm:
        self.refs.append(MapRef(len(self.insns), name, PseudoSrc.MAP_FD))
        self.insns.extend(lddw(dst, 0, PseudoSrc.MAP_FD))
        return self

    def spec(self, name: str, ptype: ProgType, attach_type: AttachType | None = None,
             section: str = "") -> ProgramSpec:
        return ProgramSpec(name, ptype, list(self.insns), section=section,
                           attach_type=attach_type, map_refs=list(self.refs))


def count_by_tgid(ptype: ProgType, *, ctx_u64_eq: tuple[int, int] | None = None,
                  ret: int = 0, attach_type: AttachType | None = None,
                  section: str = "") -> ProgramSpec:
    """counts[tgid] += 1 (hash map ``counts``: u32 -> u64).

    ``ctx_u64_eq=(off, value)`` counts only when the u64 at ctx+off equals value
    (the syscall id of raw_tp/tp_btf sys_enter).
    """
    a = Asm()
    if ctx_u64_eq is not None:
        off, value = ctx_u64_eq
        a(ldx64(2, 1, off), jne(2, value, 0))  # patched below
        skip_at = len(a.insns) - 1
    a(call("get_current_pid_tgid"), Insn(0x77, 0, 0, 0, 32), stx32(10, 0, -4))
    a.ld_map(1, "counts")(movr(2, 10), add(2, -4), call("map_lookup_elem"))
    lookup_jmp = len(a.insns)
    a(jeq(0, 0, 0), mov(1, 1), atomic_add64(0, 1, 0))
    done_jmp = len(a.insns)
    a(ja(0))
    init = len(a.insns)
    a(st64(10, -16, 1))
    a.ld_map(1, "counts")(movr(2, 10), add(2, -4), movr(3, 10), add(3, -16), mov(4, 0),
                          call("map_update_elem"))
    end = len(a.insns)
    a(mov(0, ret), EXIT)
    a.insns[lookup_jmp] = jeq(0, 0, init - lookup_jmp - 1)
    a.insns[done_jmp] = ja(end - done_jmp - 1)
    if ctx_u64_eq is not None:
        a.insns[skip_at] = jne(2, ctx_u64_eq[1], end - skip_at - 1)
    return a.spec("count_tgid", ptype, attach_type, section)


def counts_map() -> MapSpec:
    return MapSpec("counts", MapType.HASH, 4, 8, 1024)


def stats_map() -> MapSpec:
    """``stats``: one 16-byte array slot {u64 hits; u64 sum}."""
    return MapSpec("stats", MapType.ARRAY, 4, 16, 1)


def hits_and_sum(ptype: ProgType, *, ret: int = 0, ctx_off: int | None = None,
                 sign32: bool = False, attach_type: AttachType | None = None) -> ProgramSpec:
    """stats.hits += 1; stats.sum += ctx[ctx_off] (u64, or a sign-extended s32); return ret."""
    a = Asm()
    a(movr(6, 1), st32(10, -4, 0))
    a.ld_map(1, "stats")(movr(2, 10), add(2, -4), call("map_lookup_elem"))
    jmp = len(a.insns)
    a(jeq(0, 0, 0), mov(1, 1), atomic_add64(0, 1, 0))
    if ctx_off is not None:
        a(ldx64(1, 6, ctx_off))
        if sign32:
            a(Insn(0x67, 1, 0, 0, 32), Insn(0xC7, 1, 0, 0, 32))  # <<= 32; s>>= 32
        a(atomic_add64(0, 1, 8))
    end = len(a.insns)
    a(mov(0, ret), EXIT)
    a.insns[jmp] = jeq(0, 0, end - jmp - 1)
    return a.spec("hits_sum", ptype, attach_type)


def ringbuf_seq(ptype: ProgType = ProgType.SOCKET_FILTER, *, perf: bool = False) -> ProgramSpec:
    """Emit one 16-byte record {u64 seq; u64 ~seq} per run, seq from stats.hits (atomic
    fetch-add); a failed output adds 1 to stats.sum (the drop counter)."""
    a = Asm()
    a(movr(6, 1), st32(10, -4, 0))
    a.ld_map(1, "stats")(movr(2, 10), add(2, -4), call("map_lookup_elem"))
    jmp = len(a.insns)
    a(jeq(0, 0, 0), movr(7, 0), mov(1, 1), atomic_add64(0, 1, 0, fetch=True))
    a(stx64(10, 1, -24), Insn(0xA7, 1, 0, 0, -1), stx64(10, 1, -16))  # r1 ^= -1
    if perf:
        a(movr(1, 6))
        a.ld_map(2, "events")
        a(*lddw(3, 0xFFFFFFFF), movr(4, 10), add(4, -24), mov(5, 16),
          call("perf_event_output"))
    else:
        a.ld_map(1, "events")(movr(2, 10), add(2, -24), mov(3, 16), mov(4, 0),
                              call("ringbuf_output"))
    ok = len(a.insns)
    a(jeq(0, 0, 0), mov(1, 1), atomic_add64(7, 1, 8))
    end = len(a.insns)
    a(mov(0, 0), EXIT)
    a.insns[jmp] = jeq(0, 0, end - jmp - 1)
    a.insns[ok] = jeq(0, 0, end - ok - 1)
    return a.spec("rb_seq", ptype)


def ringbuf_reserve_discard_odd() -> ProgramSpec:
    """Reserve 16 bytes, write {seq, ~seq}; submit even seqs, discard odd ones."""
    a = Asm()
    a(st32(10, -4, 0))
    a.ld_map(1, "stats")(movr(2, 10), add(2, -4), call("map_lookup_elem"))
    j1 = len(a.insns)
    a(jeq(0, 0, 0), movr(7, 0))
    a.ld_map(1, "events")(mov(2, 16), mov(3, 0), call("ringbuf_reserve"))
    j2 = len(a.insns)
    a(jeq(0, 0, 0), movr(6, 0), mov(1, 1), atomic_add64(7, 1, 0, fetch=True))
    a(stx64(6, 1, 0), movr(2, 1), Insn(0xA7, 2, 0, 0, -1), stx64(6, 2, 8))
    a(Insn(0x57, 1, 0, 0, 1))  # r1 &= 1
    j3 = len(a.insns)
    a(jeq(1, 0, 0), movr(1, 6), mov(2, 0), call("ringbuf_discard"))
    j4 = len(a.insns)
    a(ja(0))
    submit = len(a.insns)
    a(movr(1, 6), mov(2, 0), call("ringbuf_submit"))
    end = len(a.insns)
    a(mov(0, 0), EXIT)
    a.insns[j1] = jeq(0, 0, end - j1 - 1)
    a.insns[j2] = jeq(0, 0, end - j2 - 1)
    a.insns[j3] = jeq(1, 0, submit - j3 - 1)
    a.insns[j4] = ja(end - j4 - 1)
    return a.spec("rb_discard", ProgType.SOCKET_FILTER)


def iter_task_pids(pid_off: int, tgid_off: int) -> ProgramSpec:
    """iter/task: write {u32 pid; u32 tgid} of every task with bpf_seq_write."""
    a = Asm()
    a(ldx64(2, 1, 8))  # ctx->task
    j = len(a.insns)
    a(jeq(2, 0, 0), ldx64(3, 1, 0))  # ctx->meta
    a(ldx32(4, 2, pid_off), ldx32(5, 2, tgid_off), stx32(10, 4, -8), stx32(10, 5, -4))
    a(ldx64(1, 3, 0), movr(2, 10), add(2, -8), mov(3, 8), call("seq_write"))
    end = len(a.insns)
    a(mov(0, 0), EXIT)
    a.insns[j] = jeq(2, 0, end - j - 1)
    return a.spec("iter_task", ProgType.TRACING, AttachType.TRACE_ITER)
