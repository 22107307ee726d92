"""perf_event_open(2) through ctypes, with ``struct perf_event_attr`` as in the UAPI.

BPF programs reach tracepoints, uprobes/kprobes (via their PMUs) and sampling
events through a perf event fd; this module opens those fds and nothing else.
The caller owns every fd returned (``os.close`` it, or hand it to a ``Link``).
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import struct

from ..errors import PybpfError

# __NR_perf_event_open per architecture (arch/*/include/uapi/asm/unistd*.h)
_NR_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "ppc64le": 319,
                       "s390x": 331}

# enum perf_type_id
TYPE_HARDWARE = 0
TYPE_SOFTWARE = 1
TYPE_TRACEPOINT = 2
TYPE_HW_CACHE = 3
TYPE_RAW = 4
TYPE_BREAKPOINT = 5

# enum perf_sw_ids
SW_CPU_CLOCK = 0
SW_TASK_CLOCK = 1
SW_PAGE_FAULTS = 2
SW_CONTEXT_SWITCHES = 3
SW_CPU_MIGRATIONS = 4
SW_PAGE_FAULTS_MIN = 5
SW_PAGE_FAULTS_MAJ = 6
SW_ALIGNMENT_FAULTS = 7
SW_EMULATION_FAULTS = 8
SW_DUMMY = 9
SW_BPF_OUTPUT = 10
SW_CGROUP_SWITCHES = 11

SOFTWARE_EVENTS = {
    "cpu-clock": SW_CPU_CLOCK, "task-clock": SW_TASK_CLOCK, "page-faults": SW_PAGE_FAULTS,
    "faults": SW_PAGE_FAULTS, "context-switches": SW_CONTEXT_SWITCHES, "cs": SW_CONTEXT_SWITCHES,
    "cpu-migrations": SW_CPU_MIGRATIONS, "minor-faults": SW_PAGE_FAULTS_MIN,
    "major-faults": SW_PAGE_FAULTS_MAJ, "alignment-faults": SW_ALIGNMENT_FAULTS,
    "emulation-faults": SW_EMULATION_FAULTS, "dummy": SW_DUMMY, "bpf-output": SW_BPF_OUTPUT,
    "cgroup-switches": SW_CGROUP_SWITCHES,
}

# enum perf_event_sample_format
SAMPLE_IP = 1 << 0
SAMPLE_TID = 1 << 1
SAMPLE_TIME = 1 << 2
SAMPLE_CPU = 1 << 7
SAMPLE_PERIOD = 1 << 8
SAMPLE_RAW = 1 << 10

# bits of the perf_event_attr flags word (disabled:1, inherit:1, pinned:1, ...)
FLAG_DISABLED = 1 << 0
FLAG_INHERIT = 1 << 1
FLAG_EXCLUDE_USER = 1 << 4
FLAG_EXCLUDE_KERNEL = 1 << 5
FLAG_FREQ = 1 << 10
FLAG_WATERMARK = 1 << 14

PERF_FLAG_FD_CLOEXEC = 1 << 3

# ioctls: _IO('$', n), _IOW('$', n, type), _IOR(...)
IOC_ENABLE = 0x2400
IOC_DISABLE = 0x2401
IOC_RESET = 0x2403
IOC_SET_OUTPUT = 0x2405
IOC_ID = 0x80082407
IOC_SET_BPF = 0x40042408

# enum perf_event_type (record types in the mmap ring)
RECORD_LOST = 2
RECORD_SAMPLE = 9


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` (PERF_ATTR_SIZE_VER8, 136 bytes); bitfields as one u64."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),  # union with sample_freq (FLAG_FREQ)
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("wakeup_events", ctypes.c_uint32),  # union with wakeup_watermark
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),  # bp_addr, kprobe_func, uprobe_path
        ("config2", ctypes.c_uint64),  # bp_len, kprobe_addr, probe_offset
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("reserved_2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("reserved_3", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    ]


assert ctypes.sizeof(PerfEventAttr) == 136

def perf_event_open(attr: PerfEventAttr, pid: int = -1, cpu: int = 0, group_fd: int = -1,
                    flags: int = PERF_FLAG_FD_CLOEXEC, *, what: str = "perf event") -> int:
    """Open one perf event; raise ``PybpfError`` naming ``what`` and the errno on failure."""
    from .syscall import libc  # the one C library handle (loaded once, no ldconfig search)

    attr.size = ctypes.sizeof(PerfEventAttr)
    machine = os.uname().machine
    nr = _NR_PERF_EVENT_OPEN.get(machine)
    if nr is None:
        raise PybpfError(f"perf_event_open: unsupported machine {machine}")
    fd = libc().syscall(ctypes.c_long(nr), ctypes.byref(attr), ctypes.c_int(pid),
                        ctypes.c_int(cpu), ctypes.c_int(group_fd), ctypes.c_ulong(flags))
    if fd < 0:
        err = ctypes.get_errno()
        raise PybpfError(f"{what}: perf_event_open failed: {os.strerror(err)}"
                         + (" (run as root or lower kernel.perf_event_paranoid)"
                            if err in (1, 13) else ""))
    return int(fd)


def ioctl(fd: int, request: int, arg: int = 0) -> None:
    fcntl.ioctl(fd, request, arg)


def set_bpf(fd: int, prog_fd: int) -> None:
    """PERF_EVENT_IOC_SET_BPF: run ``prog_fd`` when the event fires (pre-link kernels)."""
    fcntl.ioctl(fd, IOC_SET_BPF, prog_fd)


def enable(fd: int) -> None:
    fcntl.ioctl(fd, IOC_ENABLE, 0)


def disable(fd: int) -> None:
    fcntl.ioctl(fd, IOC_DISABLE, 0)


def event_id(fd: int) -> int:
    buf = bytearray(8)
    fcntl.ioctl(fd, IOC_ID, buf)
    return int(struct.unpack("<Q", buf)[0])


@functools.cache
def pmu_type(name: str) -> int:
    """The dynamic PMU type number (``uprobe``, ``kprobe``) from sysfs."""
    try:
        with open(f"/sys/bus/event_source/devices/{name}/type") as f:
            return int(f.read())
    except OSError:
        raise PybpfError(f"this kernel has no {name} PMU "
                         f"(/sys/bus/event_source/devices/{name} is missing)") from None


@functools.cache
def pmu_format_bit(pmu: str, field: str) -> int:
    """The bit a PMU format field (e.g. ``retprobe`` -> ``config:0``) starts at."""
    try:
        with open(f"/sys/bus/event_source/devices/{pmu}/format/{field}") as f:
            spec = f.read().strip()
    except OSError:
        raise PybpfError(f"{pmu} PMU has no {field!r} format field") from None
    return int(spec.split(":", 1)[1].split("-", 1)[0])


def online_cpus() -> list[int]:
    """CPUs listed in /sys/devices/system/cpu/online (``0-3,5``)."""
    try:
        with open("/sys/devices/system/cpu/online") as f:
            text = f.read().strip()
    except OSError:
        return list(range(os.cpu_count() or 1))
    return parse_cpu_list(text)


def possible_cpus() -> int:
    """How many CPU slots the kernel sizes per-CPU maps for."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            return max(parse_cpu_list(f.read().strip())) + 1
    except OSError:
        return os.cpu_count() or 1


def parse_cpu_list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


# -- the event kinds links use ------------------------------------------------

def open_tracepoint(tp_id: int, *, pid: int = -1, cpu: int = 0, what: str = "tracepoint") -> int:
    """A tracepoint event (PERF_TYPE_TRACEPOINT, config = tracefs id) for a BPF program."""
    attr = PerfEventAttr(type=TYPE_TRACEPOINT, config=tp_id, sample_period=1, wakeup_events=1,
                         sample_type=SAMPLE_RAW)
    return perf_event_open(attr, pid, -1 if pid >= 0 else cpu, what=what)


def open_probe(pmu: str, config1: int, config2: int, *, retprobe: bool = False,
               ref_ctr_offset: int = 0, pid: int = -1, what: str = "probe") -> int:
    """A kprobe/uprobe through its PMU: config1 = path/func pointer, config2 = offset/addr."""
    attr = PerfEventAttr(type=pmu_type(pmu), config1=config1, config2=config2, sample_period=1,
                         wakeup_events=1)
    if retprobe:
        attr.config |= 1 << pmu_format_bit(pmu, "retprobe")
    if ref_ctr_offset:
        attr.config |= ref_ctr_offset << pmu_format_bit(pmu, "ref_ctr_offset")
    return perf_event_open(attr, pid, -1 if pid >= 0 else 0, what=what)


def open_software(config: int, cpu: int, *, freq: int = 0, period: int = 0, pid: int = -1,
                  what: str = "software event") -> int:
    """A software counter sampling at ``freq`` Hz or each ``period``."""
    attr = PerfEventAttr(type=TYPE_SOFTWARE, config=config)
    if freq:
        attr.sample_period = freq
        attr.flags |= FLAG_FREQ
    else:
        attr.sample_period = period or 1
    return perf_event_open(attr, pid, cpu, what=what)


def open_bpf_output(cpu: int, *, wakeup_events: int = 1) -> int:
    """The per-CPU sink a PERF_EVENT_ARRAY slot points at (software bpf-output, raw samples)."""
    attr = PerfEventAttr(type=TYPE_SOFTWARE, config=SW_BPF_OUTPUT, sample_period=1,
                         sample_type=SAMPLE_RAW, wakeup_events=max(1, wakeup_events))
    return perf_event_open(attr, -1, cpu, what=f"perf buffer on cpu {cpu}")
