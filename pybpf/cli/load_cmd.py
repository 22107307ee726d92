"""``pybpf load OBJ.o``: load a clang-built CO-RE object, attach it, stream its events.

Without ``--attach`` it loads, prints what it made and exits. With ``--attach`` every
program whose section names a target is attached; events from ``--events MAP`` (a ring
buffer or perf event array) are printed one per line, decoded into named fields from
the object's BTF, until Ctrl-C (or ``--duration``); then the maps and global variables
are printed.
"""

from __future__ import annotations

import sys
import time

from ..errors import BadInput, PybpfError

TYPE_CHECKING = False  # no runtime `typing` (start-up): annotations only
if TYPE_CHECKING:
    import argparse
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("object", help="BPF object file (clang -g -O2 -target bpf)")
    parser.add_argument("--attach", action="store_true",
                        help="attach every program whose SEC() names a target")
    parser.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                        help="set a global (.rodata/.data/.bss) variable before load")
    parser.add_argument("--pin", metavar="DIR", help="pin every map under DIR (reusing pins)")
    parser.add_argument("--events", metavar="MAP", help="print records of this ring/perf buffer")
    parser.add_argument("--record", metavar="STRUCT",
                        help="BTF struct of the records (default: the map's __type(value, T))")
    parser.add_argument("--disable", action="append", default=[], metavar="PROG",
                        help="do not load program PROG (autoload off)")
    parser.add_argument("--duration", type=float, metavar="SECS",
                        help="stop after SECS seconds instead of waiting for Ctrl-C")
    parser.add_argument("--json", action="store_true", help="JSON lines output")


def parse_assignment(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise BadInput(f"--set {text!r}: write it as VAR=VALUE")
    try:
        return name.strip(), int(raw, 0)
    except ValueError:
        return name.strip(), raw


def _jsonable(v: Any) -> Any:
    if hasattr(v, "_asdict"):
        return {k: _jsonable(x) for k, x in v._asdict().items()}
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex()
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def _plain(v: Any) -> str:
    if hasattr(v, "_asdict"):
        return " ".join(f"{k}={_plain(x)}" for k, x in v._asdict().items())
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex(" ")
    return str(v)


def run(args: argparse.Namespace) -> int:
    from ..elf import load_collection_spec

    spec = load_collection_spec(args.object)
    for text in args.set:
        name, value = parse_assignment(text)
        spec.set_var(name, value)
    for name in args.disable:
        spec.set_autoload(name, False)
    out = sys.stdout
    with spec.load(pin_dir=args.pin) as coll:
        if not args.json:
            for name, p in coll.programs.items():
                out.write(f"loaded {name} ({p.spec.section})\n")
        if args.attach:
            coll.attach_all()
            _stream(coll, args, out)
        _dump(spec, coll, args.json, out)
    return 0


def _stream(coll: Any, args: argparse.Namespace, out: Any) -> None:
    from ..uapi import MapType

    reader: Any = None
    if args.events:
        m = coll.maps.get(args.events)
        if m is None:
            raise PybpfError(f"{args.object}: no map {args.events!r} (have: "
                             f"{', '.join(sorted(coll.maps))})")

        import json

        def show(recs: list[Any]) -> None:
            for r in recs:
                out.write((json.dumps({"event": _jsonable(r)}) if args.json else _plain(r))
                          + "\n")
            out.flush()

        if m.type == MapType.RINGBUF:
            reader = coll.ring_buffer(args.events, show, record=args.record)
        elif m.type == MapType.PERF_EVENT_ARRAY:
            reader = coll.perf_buffer(args.events, lambda _cpu, recs: show(recs),
                                      record=args.record)
        else:
            raise PybpfError(f"map {args.events!r} is a {m.type.name.lower()}, not a ring "
                             "buffer or perf event array")
    import signal

    deadline = time.monotonic() + args.duration if args.duration is not None else None
    stop = False

    def on_term(_sig: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    old = signal.signal(signal.SIGTERM, on_term)
    try:  # from the "Attached" line on, Ctrl-C still ends with the maps printed
        sys.stderr.write("Attached. " + ("Printing events, " if reader else "")
                         + "Ctrl-C to stop.\n")
        sys.stderr.flush()
        while not stop:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            step = 0.2 if left is None else min(0.2, left)
            if reader is not None:
                reader.poll(step)
            else:
                time.sleep(step)
        if reader is not None:
            reader.consume()
    except KeyboardInterrupt:
        if reader is not None:
            reader.consume()
    finally:
        signal.signal(signal.SIGTERM, old)
        if reader is not None:
            reader.close()


def _dump(spec: Any, coll: Any, as_json: bool, out: Any) -> None:
    from ..uapi import MapType

    skip = {MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.ARRAY_OF_MAPS,
            MapType.HASH_OF_MAPS, MapType.PROG_ARRAY, MapType.USER_RINGBUF}
    maps: dict[str, Any] = {}
    ops = {name: (m.var.type_name, m.attached) for name, m in coll.maps.items()
           if m.type == MapType.STRUCT_OPS and hasattr(m, "var")}
    for name, m in coll.maps.items():
        if name in spec.data or name in ops or name == ".kconfig" or m.type in skip:
            continue
        try:
            maps[name] = list(m.items())
        except PybpfError:
            continue
    data = {name: view.items() for name, view in spec.data.items()}
    if as_json:
        import json

        out.write(json.dumps({
            "maps": {n: [{"key": _jsonable(k), "value": _jsonable(v)} for k, v in kv]
                     for n, kv in maps.items()},
            "globals": {n: {k: _jsonable(v) for k, v in kv} for n, kv in data.items()},
            "struct_ops": {n: {"type": t, "registered": r} for n, (t, r) in ops.items()},
        }) + "\n")
        return
    for name, (tname, registered) in ops.items():
        out.write(f"\n{name}: struct {tname}, {'registered' if registered else 'not registered'}\n")
    for name, kv in maps.items():
        out.write(f"\n{name}:\n")
        for k, v in kv:
            out.write(f"  {_plain(k)}: {_plain(v)}\n")
    for name, kv in data.items():
        out.write(f"\n{name}:\n")
        for k, v in kv:
            out.write(f"  {k} = {_plain(v)}\n")
