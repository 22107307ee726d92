"""``pybpf feature [probe]``: which program types, map types and helpers this kernel supports.

Results are cached per boot (see ``pybpf.kernel.features``); ``--refresh`` probes again.
"""

from __future__ import annotations

import argparse
import sys
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
    if args.json or args.pretty:
        out: dict[str, Any] = {
            "system_config": {"unprivileged_bpf_disabled": _int(unpriv),
                              "bpf_jit_enable": _int(jit)},
            "program_types": {f"have_{n.lower()}_prog_type": v for n, v in progs.items()},
            "map_types": {f"have_{n.lower()}_map_type": v for n, v in maps.items()},
        }
        out["misc"] = {_MISC_JSON[k]: v for k, v in misc.items()}
        if helpers:
            out["helpers"] = {f"{n.lower()}_available_helpers": [f"bpf_{h}" for h in hs]
                              for n, hs in helpers.items()}
        sys.stdout.write(fmt.dumps(out, args.pretty) + "\n")
        return 0
    w = sys.stdout.write
    w("Scanning system configuration...\n")
    if unpriv is not None:
        w({"0": "bpf() syscall for unprivileged users is enabled\n",
           "1": "bpf() syscall restricted to privileged users (without recovery)\n",
           "2": "bpf() syscall restricted to privileged users (admin can change)\n"}
          .get(unpriv, f"Unable to retrieve required privileges for bpf() syscall ({unpriv})\n"))
    if jit is not None:
        w({"0": "JIT compiler is disabled\n", "1": "JIT compiler is enabled\n",
           "2": "JIT compiler is enabled with debugging traces in kernel logs\n"}
          .get(jit, f"JIT compiler status unknown ({jit})\n"))
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


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None
