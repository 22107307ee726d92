"""The per-boot memo of vmlinux BTF lookups: written by one process, trusted by the
next only where it still matches the blob."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys

import pytest

from pybpf.btf.lookup_memo import _MAGIC, memo_path

VMLINUX = "/sys/kernel/btf/vmlinux"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(not os.path.exists(VMLINUX), reason="no kernel BTF")

PROBE = """
import json
from pybpf.btf import vmlinux
from pybpf.btf.format import Kind
b = vmlinux()
from_disk = b._next == len(b._w)
ts = b.find("task_struct", Kind.STRUCT)
cands = b.find_candidates("task_struct___mine", Kind.STRUCT)
all_ids = b.find_all("pid")
field = b.member_path("task_struct", "real_parent").offset
print(json.dumps({"from_disk": from_disk, "scans": b._scans, "ts": ts, "cands": cands,
                  "pid": all_ids, "field": field}))
"""


def _probe(cache: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYBPF_NO_CACHE"}
    env.update(PYBPF_CACHE_DIR=cache, **extra)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def _file(cache: str) -> str:
    path = memo_path(os.path.getsize(VMLINUX))
    assert path is not None
    return os.path.join(cache, os.path.basename(path))


def test_second_process_reuses_first_answers(tmp_path: os.PathLike) -> None:
    cache = str(tmp_path)
    first = _probe(cache)
    assert not first["from_disk"]
    assert os.path.exists(_file(cache))
    second = _probe(cache)
    assert second["from_disk"]
    assert second["scans"] == 0  # every name came from the memo
    for k in ("ts", "cands", "pid", "field"):
        assert second[k] == first[k]
    assert first["ts"] in first["cands"]


def test_stale_memo_is_ignored(tmp_path: os.PathLike) -> None:
    cache = str(tmp_path)
    good = _probe(cache)
    path = _file(cache)
    with open(path, "rb") as f:
        nwords, offs, ids, first, prefixes = marshal.loads(f.read()[len(_MAGIC):])
    ids[b"task_struct"] = [good["ts"] + 1]  # an id that does not carry that name
    with open(path, "wb") as f:
        f.write(_MAGIC + marshal.dumps((nwords, offs, ids, first, prefixes)))
    again = _probe(cache)
    assert again["scans"] > 0  # the names were looked up again, not taken from the file
    assert again["ts"] == good["ts"] and again["cands"] == good["cands"]


def test_garbage_memo_is_ignored(tmp_path: os.PathLike) -> None:
    cache = str(tmp_path)
    good = _probe(cache)
    with open(_file(cache), "wb") as f:
        f.write(_MAGIC + b"\x00garbage")
    again = _probe(cache)
    assert not again["from_disk"] and again["scans"] > 0 and again["ts"] == good["ts"]


def test_cache_can_be_turned_off(tmp_path: os.PathLike) -> None:
    cache = str(tmp_path)
    _probe(cache, PYBPF_NO_CACHE="1")
    assert os.listdir(cache) == []
