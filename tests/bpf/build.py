"""Build tests/bpf/*.bpf.c with clang into a cache directory (once per session).

Needs Debian's clang (14+), libbpf-dev (bpf_helpers.h etc.) and a vmlinux.h, which is
generated from /sys/kernel/btf/vmlinux with bpftool (or pybpf's own dumper if bpftool
is missing). Objects are rebuilt only when their source is newer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


def missing() -> str | None:
    """Why the objects cannot be built here, or None."""
    if not shutil.which("clang"):
        return "clang is not installed (apt-get install clang)"
    if not os.path.exists("/usr/include/bpf/bpf_helpers.h"):
        return "libbpf headers are missing (apt-get install libbpf-dev)"
    if not os.path.exists(VMLINUX_BTF):
        return f"no {VMLINUX_BTF} to generate vmlinux.h from"
    return None


def cache_dir() -> str:
    with open(VMLINUX_BTF, "rb") as f:
        tag = hashlib.sha1(f.read(1 << 16)).hexdigest()[:12]
    d = os.path.join(tempfile.gettempdir(), f"pybpf-elf-tests-{os.getuid()}-{tag}")
    os.makedirs(d, exist_ok=True)
    return d


def vmlinux_h(d: str) -> str:
    out = os.path.join(d, "vmlinux.h")
    if os.path.exists(out):
        return out
    tmp = out + f".{os.getpid()}"
    if shutil.which("bpftool"):
        with open(tmp, "w") as f:
            subprocess.run(["bpftool", "btf", "dump", "file", VMLINUX_BTF, "format", "c"],
                           stdout=f, check=True)
    else:
        from pybpf.btf import dump_header, vmlinux

        with open(tmp, "w") as f:
            f.write(dump_header(vmlinux()))
    os.replace(tmp, out)
    return out


def build(name: str, d: str | None = None) -> str:
    """Path of ``<name>.bpf.o`` built from tests/bpf/<name>.bpf.c."""
    d = d or cache_dir()
    src = os.path.join(HERE, f"{name}.bpf.c")
    out = os.path.join(d, f"{name}.bpf.o")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    vmlinux_h(d)
    tmp = out + f".{os.getpid()}"
    r = subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                        f"-I{d}", "-c", src, "-o", tmp], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"clang failed on {src}:\n{r.stderr}")
    os.replace(tmp, out)
    return out
