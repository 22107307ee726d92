"""Where pybpf keeps what it can reuse between runs (see ``btf.lookup_memo`` and
``lang.scriptcache``); a module of its own so that finding it imports nothing else."""

from __future__ import annotations

import os


def cache_root() -> str | None:
    """``$PYBPF_CACHE_DIR``, else ``$XDG_CACHE_HOME/pybpf`` or ``~/.cache/pybpf``; None
    when ``PYBPF_NO_CACHE`` is set."""
    env = os.environ
    if env.get("PYBPF_NO_CACHE"):
        return None
    base = env.get("PYBPF_CACHE_DIR")
    if not base:
        xdg = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "pybpf")
    return base
