"""The environment benchmarked child processes run in.

An installed package runs with its bytecode cached; this machine sets
PYTHONDONTWRITEBYTECODE, which would make every fresh pybpf process recompile all
its modules. Child processes get a private bytecode cache instead (filled by the
warm-up run), so start-up figures measure pybpf, not the compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CACHE = tempfile.mkdtemp(prefix="pybpf-bench-pycache-")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = CACHE


# what pip writes for a [project.scripts] entry (pip's console-script template)
CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from pybpf.cli.main import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def installed_venv(tmp: str) -> list[str]:
    """The ``pybpf`` console script of a virtualenv in ``tmp`` holding a plain
    (non-editable) copy of the package, as ``pip install pybpf`` leaves it: this
    interpreter's ``site`` runs, with none of this machine's ``.pth`` start-up hooks
    (an editable-install finder, a CA-bundle hook). Built without network or build
    tools."""
    venv = Path(tmp, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    shutil.copytree(ROOT / "pybpf", site / "pybpf",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    script = venv / "bin" / "pybpf"
    script.write_text(CONSOLE_SCRIPT.format(python=venv / "bin" / "python"))
    script.chmod(0o755)
    return [str(script)]


def venv_python(script: str) -> str:
    """The interpreter of the venv ``installed_venv`` made."""
    return str(Path(script).parent / "python")
