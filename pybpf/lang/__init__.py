"""The bpftrace-compatible tracing language: parse → check → codegen → CollectionSpec.

``compile_script(text)`` runs every pass and returns a ``CompiledScript``;
``parse`` alone gives the syntax tree. Errors are ``CompileError`` carrying
bpftrace-format text.

One pass per module, over one AST (``ast``): ``lexer``/``parser`` (bison-style
syntax errors and locations), ``probes`` (attach point specs), ``semantic``
(types in ``types``, kernel structs via ``btftypes``), ``codegen`` (with
``emitter`` for labels and dead-code removal), then the runtime side:
``runtime`` decodes ring-buffer events and maps, ``output`` prints them as
bpftrace does (text and NDJSON).
"""

from __future__ import annotations

from .errors import CompileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .parser import parse

__all__ = ["CompileError", "check", "compile_script", "parse"]


def __getattr__(name: str) -> Any:
    """``parse`` on first use: running a compiled script needs no parser (start-up)."""
    if name == "parse":
        from .parser import parse

        return parse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compile_script(source: str, filename: str = "stdin", **options):  # type: ignore[no-untyped-def]
    """Parse, check and generate code; see ``pybpf.lang.codegen.compile_script``."""
    from .._gcpause import paused_gc
    from .codegen import compile_script as _compile

    with paused_gc():
        return _compile(source, filename, **options)


def check(source: str, filename: str = "stdin", **options):  # type: ignore[no-untyped-def]
    """Parse and type-check ``source``; returns the ``Semantic`` pass with its results."""
    from .parser import parse
    from .semantic import Semantic

    p = parse(source, filename)
    from .errors import Diagnostics

    sem = Semantic(p, Diagnostics(filename, source), **options)
    sem.run()
    return sem
