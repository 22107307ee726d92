"""Fixtures for the kernel link tests: load helpers that check nothing is left behind."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pybpf.spec import MapSpec, ProgramSpec

from .build import build_workload, gcc_missing


class KernelState:
    """Maps and programs of one test; ``finish()`` closes them and checks the kernel
    holds no program or link of ours any more (prog/link lists as before the test)."""

    def __init__(self) -> None:
        from pybpf.kernel.info import list_links, list_progs

        self._list_links, self._list_progs = list_links, list_progs
        self.maps: dict[str, Any] = {}
        self.progs: list[Any] = []
        self.prog_ids: set[int] = set()
        self.links_before = {ln.id for ln in list_links()}

    def map(self, spec: MapSpec) -> Any:
        from pybpf.kernel.maps import create_map

        m = create_map(spec)
        self.maps[spec.name] = m
        return m

    def load(self, spec: ProgramSpec, **kw: Any) -> Any:
        from pybpf.kernel.programs import load_program

        p = load_program(spec, self.maps, **kw)
        self.progs.append(p)
        self.prog_ids.add(p.id)
        return p

    def our_links(self) -> list[Any]:
        return [ln for ln in self._list_links()
                if ln.prog_id in self.prog_ids and ln.id not in self.links_before]

    def finish(self) -> None:
        left = self.our_links()
        for p in self.progs:
            p.close()
        for m in self.maps.values():
            m.close()
        assert not left, f"links left attached after the test: {left}"
        # The kernel frees a program after an RCU grace period once its last link goes.
        deadline = time.monotonic() + 5
        while True:
            alive = {p.id for p in self._list_progs()} & self.prog_ids
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert not alive, f"programs still loaded after the test: {alive}"


@pytest.fixture
def kstate() -> Iterator[KernelState]:
    ks = KernelState()
    yield ks
    ks.finish()


@pytest.fixture(scope="session")
def workload(tmp_path_factory: pytest.TempPathFactory) -> str:
    reason = gcc_missing()
    if reason:
        pytest.skip(reason)
    return build_workload(str(tmp_path_factory.mktemp("workload")))


def run_workload(path: str, *args: str | int) -> tuple[int, str]:
    """Run the workload to completion; (pid, stdout)."""
    p = subprocess.Popen([path, *map(str, args)], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, f"workload {args} exited with {p.returncode}"
    return p.pid, out


def count_of(counts_map: Any, pid: int) -> int:
    raw = counts_map.lookup_raw(pid.to_bytes(4, "little"))
    return int.from_bytes(raw, "little") if raw is not None else 0


def stats_of(stats_map: Any) -> tuple[int, int]:
    raw = stats_map.lookup_raw(b"\0\0\0\0")
    assert raw is not None
    return int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:16], "little", signed=True)


def cpu_count() -> int:
    return os.cpu_count() or 1
