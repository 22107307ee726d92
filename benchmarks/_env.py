"""The environment benchmarked child processes run in.

An installed package runs with its bytecode cached; this machine sets
PYTHONDONTWRITEBYTECODE, which would make every fresh pybpf process recompile all
its modules. Child processes get a private bytecode cache instead (filled by the
warm-up run), so start-up figures measure pybpf, not the compiler.
"""

from __future__ import annotations

import os
import tempfile

CACHE = tempfile.mkdtemp(prefix="pybpf-bench-pycache-")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = CACHE
