"""An indented text dump of the syntax tree for ``pybpf trace -d`` (like bpftrace's AST dump)."""

from __future__ import annotations

from . import ast

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    from typing import Any

_SKIP = {"loc", "type", "probe", "index"}


def dump(node: Any, depth: int = 0) -> str:
    """One line per node: its kind and scalar fields, children indented by one space."""
    lines: list[str] = []
    _walk(node, depth, lines)
    return "\n".join(lines)


def _walk(node: Any, depth: int, lines: list[str]) -> None:
    pad = " " * depth
    if isinstance(node, list):
        for item in node:
            _walk(item, depth, lines)
        return
    if not isinstance(node, ast.Node):
        lines.append(f"{pad}{node!r}")
        return
    scalars, children = [], []
    for name in node._fields:
        if name in _SKIP:
            continue
        v = getattr(node, name)
        if isinstance(v, ast.Node) or (isinstance(v, list) and v and
                                       isinstance(v[0], ast.Node)):
            children.append(v)
        elif v not in (None, [], "", False):
            scalars.append(str(v) if not isinstance(v, list) else ",".join(map(str, v)))
    t = getattr(node, "type", None)
    suffix = f" :: [{t.kind}]" if t is not None and hasattr(t, "kind") else ""
    lines.append(f"{pad}{type(node).__name__.lower()}{' ' if scalars else ''}"
                 f"{' '.join(scalars)}{suffix}")
    for c in children:
        _walk(c, depth + 1, lines)
