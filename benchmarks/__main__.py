"""Run every benchmark module and print one table of ratios.

Each ``benchmarks/bench_*.py`` defines ``run() -> list[dict]`` whose rows hold
``name``, ``value``, ``unit``, ``reference`` (what the value is compared with,
measured in the same run) and ``ratio``. Usage::

    python -m benchmarks [NAME ...] [--json]
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path

# Run after the others: detaching hundreds of tracepoints leaves the kernel releasing them
# (RCU grace periods under its tracepoint mutex) for a while, which slows any tool that
# attaches next -- the reference tools included.
RUN_LAST = ("bench_trace", "bench_events")


def discover() -> list[str]:
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")]
    return sorted(names, key=lambda n: (RUN_LAST.index(n) if n in RUN_LAST else -1, n))


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    rows: list[dict] = []
    for name in discover():
        short = name.removeprefix("bench_")
        if wanted and short not in wanted and name not in wanted:
            continue
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
            for row in mod.run():
                rows.append({"bench": short, **row})
        except Exception as e:  # one broken benchmark must not hide the others
            traceback.print_exc(file=sys.stderr)
            rows.append({"bench": short, "name": "(failed)", "value": str(e), "unit": "",
                         "reference": "", "ratio": ""})
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ["bench", "name", "value", "unit", "reference", "ratio"]
    table = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for t in table:
        print("| " + " | ".join(t) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
