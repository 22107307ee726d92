"""``pybpf trace --info``: what this system gives the tracer (kernel, BTF, features)."""

from __future__ import annotations

import os
import platform


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def info_text() -> str:
    """bpftrace --info's sections, for what pybpf needs and can check cheaply."""
    from .. import __version__

    lines = ["System", f"  OS: {platform.system()} {platform.release()} {platform.version()}",
             f"  Arch: {platform.machine()}", "",
             "Build", f"  version: pybpf {__version__} (bpftrace v0.17 compatible)",
             "  LLVM: not needed (pure Python)", "",
             "Kernel features",
             f"  btf: {_yes(os.path.exists('/sys/kernel/btf/vmlinux'))}",
             f"  tracefs: {_yes(os.path.isdir('/sys/kernel/tracing/events'))}",
             f"  uprobe pmu: {_yes(os.path.isdir('/sys/bus/event_source/devices/uprobe'))}",
             f"  kprobe pmu: {_yes(os.path.isdir('/sys/bus/event_source/devices/kprobe'))}",
             "", "Map types", "  hash: yes", "  percpu hash: yes", "  array: yes",
             "  percpu array: yes", "  ringbuf: yes"]
    return "\n".join(lines) + "\n"
