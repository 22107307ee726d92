"""The static verifier: proves a program safe before it runs, or says why not.

``verify(spec_or_insns, prog_type=..., maps=...)`` returns a ``Verdict``; a
rejection carries the instruction, a plain-words reason, the register state and
the path that leads there (and the source line when the spec knows it).
"""

from __future__ import annotations

from .api import verify
from .report import Verdict, VerifierReport

__all__ = ["Verdict", "VerifierReport", "verify"]
