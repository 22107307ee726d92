"""fentry/fexit/fmod_ret, LSM and freplace programs: BPF_RAW_TRACEPOINT_OPEN with no name.

The target is fixed at load time (attach_btf_id, expected_attach_type), so
attaching only makes the trampoline live. Needs a kernel with BPF trampolines
(x86-64/arm64, 5.5+; LSM 5.7+ with ``bpf`` in the ``lsm=`` list).
"""

from __future__ import annotations

import errno

from .base import Link
from .raw_tracepoint import raw_tracepoint_open

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_NO_TRAMPOLINE = "this kernel may lack BPF trampolines"
_HINTS = {errno.EOPNOTSUPP: _NO_TRAMPOLINE, 524: _NO_TRAMPOLINE}  # 524: ENOTSUPP (kernel)


class TracingLink(Link):
    kind = "tracing"


def attach_tracing(prog: Any, target: str = "", *, cookie: int = 0) -> Link:
    """Attach a loaded fentry/fexit/fmod_ret/lsm/tp_btf program."""
    fd = raw_tracepoint_open(prog, None, f"attach tracing program {target}", cookie=cookie,
                             hints=_HINTS)
    return TracingLink(target or "tracing", link_fd=fd)


attach_fentry = attach_fexit = attach_fmod_ret = attach_lsm = attach_tracing
