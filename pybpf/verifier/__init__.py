"""The static verifier: proves a program safe before it runs, or says why not.

``verify(spec_or_insns, prog_type=..., maps=...)`` returns a ``Verdict``; a
rejection carries the instruction, a plain-words reason, the register state and
the path that leads there (and the source line when the spec knows it). For a
runtime, ``check(...)`` raises ``VerifierRejected`` (a one-line ``PybpfError``)
instead, and ``safe_accesses(...)`` also returns the load/store instructions
proven in bounds on every path (where an interpreter may skip its own check).

Like the kernel's verifier (kernel/bpf/verifier.c) it walks every path with an
abstract state: registers typed as scalars (tnum known bits plus signed and
unsigned bounds) or pointers (context, stack, map, map value, packet, packet
end/meta, ring buffer record, function), the stack byte by byte (spilled
registers kept), references (ring buffer records) and a held bpf_spin_lock.
States already proven safe prune later paths; a loop that comes back to an
identical state is infinite; 1M processed instructions is the budget.

Modules: ``cfg`` (control flow, subprograms, liveness; a helper call reads only
its declared arguments), ``ops`` (opcode fields as plain ints for the hot paths),
``tnum``/``scalar``/``branch`` (the numeric domain), ``state`` (registers, stack, state coverage),
``ctx`` (context layouts), ``helpers_proto`` (helper prototypes), ``memory`` /
``calls`` / ``analyze`` (the walk), ``report`` and ``api`` (what users see),
``source`` (files with ``; type:``/``; map:`` headers), ``oracle`` (the
kernel's verdict on the same program, for differential tests), ``randprog``
(random programs for those tests).

Known differences from Linux 6.18 (privileged): by default reading stack bytes
never written is refused (``strict_stack=False`` allows it, as the kernel does
for CAP_PERFMON); RFC 9669 encoding rules apply to every instruction, reached or
not; kfuncs, callx, BTF-typed pointers beyond "readable" and many newer helpers
are not modelled (such programs are refused with a message saying so).
"""

from __future__ import annotations

from .api import VerifierRejected, check, safe_accesses, verify
from .report import Verdict, VerifierReport

__all__ = ["Verdict", "VerifierRejected", "VerifierReport", "check", "safe_accesses", "verify"]
