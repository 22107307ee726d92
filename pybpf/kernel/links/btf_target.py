"""Which vmlinux BTF id a BTF-attached program is loaded with (``attach_btf_id``).

The loader needs it before BPF_PROG_LOAD; the rule depends on the attach kind
(as in libbpf's ``find_attach_btf_id``): tp_btf → typedef ``btf_trace_<tp>``,
fentry/fexit/fmod_ret → the function, lsm → ``bpf_lsm_<hook>``, iter → ``bpf_iter_<target>``.
"""

from __future__ import annotations

from ...errors import PybpfError
from ...uapi import AttachType

_PREFIX = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", "TYPEDEF"),
    AttachType.TRACE_FENTRY: ("", "FUNC"),
    AttachType.TRACE_FEXIT: ("", "FUNC"),
    AttachType.MODIFY_RETURN: ("", "FUNC"),
    AttachType.LSM_MAC: ("bpf_lsm_", "FUNC"),
    AttachType.LSM_CGROUP: ("bpf_lsm_", "FUNC"),
    AttachType.TRACE_ITER: ("bpf_iter_", "FUNC"),
}


def btf_type_name(attach_type: AttachType, target: str) -> tuple[str, str]:
    """(BTF type name, BTF kind name) the kernel expects for ``target``."""
    try:
        prefix, kind = _PREFIX[attach_type]
    except KeyError:
        raise PybpfError(f"{attach_type.name.lower()} programs are not attached "
                         "by BTF id") from None
    name = target.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return (name if name.startswith(prefix) else prefix + name), kind


def attach_btf_id(attach_type: AttachType, target: str) -> int:
    """The vmlinux BTF id for a tp_btf/fentry/fexit/fmod_ret/lsm/iter program on ``target``."""
    from ...btf import Kind, vmlinux

    name, kind = btf_type_name(attach_type, target)
    try:
        return int(vmlinux().find(name, Kind[kind]))
    except PybpfError:
        raise PybpfError(f"{attach_type.name.lower()} target {target!r}: the kernel has no "
                         f"{kind.lower()} {name!r} in its BTF") from None
