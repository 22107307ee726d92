"""``pybpf feature [probe]``: which program types, map types and helpers this kernel supports.

Results are cached per boot (see ``pybpf.kernel.features``); ``--refresh`` probes again.
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", default="probe", choices=["probe"],
                        help="what to do (default: probe)")
    parser.add_argument("--no-helpers", action="store_true", help="skip the helper probes")
    parser.add_argument("--refresh", action="store_true", help="ignore the per-boot cache")
    parser.add_argument("-j", "--json", action="store_true", help="JSON output")
    parser.add_argument("-p", "--pretty", action="store_true", help="indented JSON output")


def _sysctl(name: str) -> str | None:
    try:
        with open(f"/proc/sys/{name.replace('.', '/')}") as f:
            return f.read().strip()
    except OSError:
        return None


def run(args: argparse.Namespace) -> int:
    from ..kernel import features as feat
    from ..uapi import ProgType
    from . import _bpftool as fmt

    if args.refresh:
        feat.clear_cache()
    why = feat.bpf_available()
    if why:
        from ..errors import PybpfError

        raise PybpfError(f"cannot probe: {why}")
    progs = feat.prog_types()
    maps = feat.map_types()
    helpers: dict[str, list[str]] = {}
    if not args.no_helpers:
        for name in progs:
            helpers[name] = feat.helpers(ProgType[name])
    misc = feat.misc()
    unpriv = _sysctl("kernel.unprivileged_bpf_disabled")
    jit = _sysctl("net.core.bpf_jit_enable")
    harden = _sysctl("net.core.bpf_jit_harden")
    kallsyms = _sysctl("net.core.bpf_jit_kallsyms")
    limit = _sysctl("net.core.bpf_jit_limit")
    config = _kernel_config()
    if args.json or args.pretty:
        out: dict[str, Any] = {
            "system_config": {"unprivileged_bpf_disabled": _int(unpriv),
                              "bpf_jit_enable": _int(jit), "bpf_jit_harden": _int(harden),
                              "bpf_jit_kallsyms": _int(kallsyms), "bpf_jit_limit": _int(limit),
                              **config},
            "syscall_config": {"have_bpf_syscall": True},
            "program_types": {f"have_{n.lower()}_prog_type": v for n, v in progs.items()},
            "map_types": {f"have_{n.lower()}_map_type": v for n, v in maps.items()},
        }
        if helpers:  # bpftool's order: helpers, then misc
            out["helpers"] = {f"{n.lower()}_available_helpers": [f"bpf_{h}" for h in hs]
                              for n, hs in helpers.items()}
        out["misc"] = {_MISC_JSON[k]: v for k, v in misc.items()}
        sys.stdout.write(fmt.dumps(out, args.pretty) + "\n")
        return 0
    w = sys.stdout.write
    w("Scanning system configuration...\n")
    for value, (texts, unknown) in zip((unpriv, jit, harden, kallsyms), _SYSCTL_TEXT, strict=True):
        if value is not None:
            w(texts.get(value, unknown.format(value)) + "\n")
    if limit is not None:
        w(f"Global memory limit for JIT compiler for unprivileged users is {limit} bytes\n")
    for name, value in config.items():
        w(f"{name} is set to {value}\n" if value is not None else f"{name} is not set\n")
    w("\nScanning system call availability...\nbpf() syscall is available\n")
    w("\nScanning eBPF program types...\n")
    for n, v in progs.items():
        w(f"eBPF program_type {n.lower()} is {'' if v else 'NOT '}available\n")
    w("\nScanning eBPF map types...\n")
    for n, v in maps.items():
        w(f"eBPF map_type {n.lower()} is {'' if v else 'NOT '}available\n")
    if helpers:
        w("\nScanning eBPF helper functions...\n")
        for n, hs in helpers.items():
            w(f"eBPF helpers supported for program type {n.lower()}:\n")
            w("".join(f"\t- bpf_{h}\n" for h in hs))
    w("\nScanning miscellaneous eBPF features...\n")
    for k, v in misc.items():
        w(f"{_MISC_TEXT[k]} is {'' if v else 'NOT '}available\n")
    return 0


_MISC_JSON = {"large_insn_limit": "have_large_insn_limit", "bounded_loops": "have_bounded_loops",
              "isa_v2_ext": "have_v2_isa_extension", "isa_v3_ext": "have_v3_isa_extension",
              "isa_v4_ext": "have_v4_isa_extension"}
_MISC_TEXT = {"large_insn_limit": "Large program size limit",
              "bounded_loops": "Bounded loop support", "isa_v2_ext": "ISA extension v2",
              "isa_v3_ext": "ISA extension v3", "isa_v4_ext": "ISA extension v4"}


# What bpftool prints for unprivileged_bpf_disabled, bpf_jit_enable, bpf_jit_harden and
# bpf_jit_kallsyms, and for a value it does not know.
_SYSCTL_TEXT: list[tuple[dict[str, str], str]] = [
    ({"0": "bpf() syscall for unprivileged users is enabled",
      "1": "bpf() syscall restricted to privileged users (without recovery)",
      "2": "bpf() syscall restricted to privileged users (admin can change)"},
     "Unable to retrieve required privileges for bpf() syscall ({})"),
    ({"0": "JIT compiler is disabled", "1": "JIT compiler is enabled",
      "2": "JIT compiler is enabled with debugging traces in kernel logs"},
     "JIT compiler status unknown ({})"),
    ({"0": "JIT compiler hardening is disabled",
      "1": "JIT compiler hardening is enabled for unprivileged users",
      "2": "JIT compiler hardening is enabled for all users"},
     "JIT hardening status unknown ({})"),
    ({"0": "JIT compiler kallsyms exports are disabled",
      "1": "JIT compiler kallsyms exports are enabled for root"},
     "JIT kallsyms exports status unknown ({})"),
]

# The kernel options bpftool's feature probe reports, in its order.
_CONFIG_OPTIONS = (
    "CONFIG_BPF CONFIG_BPF_SYSCALL CONFIG_HAVE_EBPF_JIT CONFIG_BPF_JIT CONFIG_BPF_JIT_ALWAYS_ON "
    "CONFIG_DEBUG_INFO_BTF CONFIG_DEBUG_INFO_BTF_MODULES CONFIG_CGROUPS CONFIG_CGROUP_BPF "
    "CONFIG_CGROUP_NET_CLASSID CONFIG_SOCK_CGROUP_DATA CONFIG_BPF_EVENTS CONFIG_KPROBE_EVENTS "
    "CONFIG_UPROBE_EVENTS CONFIG_TRACING CONFIG_FTRACE_SYSCALLS "
    "CONFIG_FUNCTION_ERROR_INJECTION CONFIG_BPF_KPROBE_OVERRIDE CONFIG_NET "
    "CONFIG_XDP_SOCKETS CONFIG_LWTUNNEL_BPF CONFIG_NET_ACT_BPF CONFIG_NET_CLS_BPF "
    "CONFIG_NET_CLS_ACT CONFIG_NET_SCH_INGRESS CONFIG_XFRM CONFIG_IP_ROUTE_CLASSID "
    "CONFIG_IPV6_SEG6_BPF CONFIG_BPF_LIRC_MODE2 CONFIG_BPF_STREAM_PARSER "
    "CONFIG_NETFILTER_XT_MATCH_BPF CONFIG_BPFILTER CONFIG_BPFILTER_UMH CONFIG_TEST_BPF "
    "CONFIG_HZ"
).split()


def _kernel_config() -> dict[str, str | None]:
    """bpftool's option list with this kernel's values (None: not set); {} if the kernel
    config cannot be read, as bpftool then prints no option lines."""
    from ..elf.globals import kernel_config

    cfg = kernel_config()
    return {name: cfg.get(name) for name in _CONFIG_OPTIONS} if cfg else {}


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None
