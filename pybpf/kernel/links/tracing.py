"""fentry/fexit/fmod_ret, LSM and freplace programs: BPF_RAW_TRACEPOINT_OPEN with no name.

The target is fixed at load time (attach_btf_id, expected_attach_type), so
attaching only makes the trampoline live. Needs a kernel with BPF trampolines
(x86-64/arm64, 5.5+; LSM 5.7+ with ``bpf`` in the ``lsm=`` list).
"""

from __future__ import annotations

from typing import Any

from . import _sys
from .base import Link, attach_errno, prog_fd_of


class TracingLink(Link):
    kind = "tracing"


def attach_tracing(prog: Any, target: str = "", *, cookie: int = 0) -> Link:
    """Attach a loaded fentry/fexit/fmod_ret/lsm/tp_btf program."""
    try:
        fd = _sys.raw_tracepoint_open(prog_fd_of(prog), None, cookie)
    except OSError as e:
        raise attach_errno(f"tracing program {target}", e,
                           "this kernel may lack BPF trampolines" if e.errno in (95, 524)
                           else "") from None
    return TracingLink(target or "tracing", link_fd=fd)


attach_fentry = attach_fexit = attach_fmod_ret = attach_lsm = attach_tracing
