"""The compiled-script cache: a script run again skips the compiler, with the very same
programs; anything that could make the stored programs wrong makes it compile again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pybpf.lang import scriptcache as C

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = 'interval:ms:10 /pid == 1/ { @n = count(); printf("%d\\n", 1); }'


@pytest.fixture()
def cache(tmp_path: os.PathLike, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PYBPF_NO_CACHE", raising=False)
    return str(tmp_path)


def _compile(source: str) -> object:
    from pybpf.lang import compile_script

    return compile_script(source)


def _insns(script: object) -> dict[str, list[bytes]]:
    spec = script.spec  # type: ignore[attr-defined]
    return {n: [i.encode() for i in p.insns] for n, p in spec.programs.items()}


def test_stored_script_comes_back_the_same(cache: str) -> None:
    key = C.script_key(SCRIPT, "stdin", ["7"], False, False)
    assert C.lookup(key) is None
    script = _compile(SCRIPT)
    C.store(key, script)  # type: ignore[arg-type]
    again = C.lookup(C.script_key(SCRIPT, "stdin", ["7"], False, False))
    assert again is not None and again is not script
    assert _insns(again) == _insns(script)
    assert [m.name for m in again.programs] == [m.name for m in script.programs]  # type: ignore[attr-defined]
    assert again.maps.keys() == script.maps.keys()  # type: ignore[attr-defined]


@pytest.mark.parametrize("change", ["source", "params", "unsafe", "child", "env"])
def test_any_change_of_the_key_compiles_again(cache: str, change: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    C.store(C.script_key(SCRIPT, "stdin", [], False, False), _compile(SCRIPT))  # type: ignore[arg-type]
    args: list[object] = [SCRIPT, "stdin", [], False, False]
    if change == "source":
        args[0] = SCRIPT + " "
    elif change == "params":
        args[2] = ["1"]
    elif change == "unsafe":
        args[3] = True
    elif change == "child":
        args[4] = True
    else:
        monkeypatch.setenv("BPFTRACE_MAX_MAP_KEYS", "17")
    assert C.lookup(C.script_key(*args)) is None  # type: ignore[arg-type]


def test_what_is_never_stored(cache: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert C.script_key('BEGIN { printf("%x", uaddr("main")); }', "stdin", [], False,
                        False) is None
    monkeypatch.setenv("PYBPF_NO_CACHE", "1")
    assert C.script_key(SCRIPT, "stdin", [], False, False) is None


def test_untrusted_directory_is_not_read(cache: str) -> None:
    key = C.script_key(SCRIPT, "stdin", [], False, False)
    C.store(key, _compile(SCRIPT))  # type: ignore[arg-type]
    assert C.lookup(key) is not None
    os.chmod(os.path.join(cache, "scripts"), 0o777)
    assert C.lookup(key) is None
    os.chmod(os.path.join(cache, "scripts"), 0o700)
    path = os.path.join(cache, "scripts", os.listdir(os.path.join(cache, "scripts"))[0])
    with open(path, "wb") as f:
        f.write(b"not a pickle")
    assert C.lookup(key) is None  # a damaged entry is a miss


@pytest.mark.kernel
def test_second_run_skips_the_compiler(cache: str) -> None:
    """Two runs of `pybpf trace`: the same output; the second imports no compiler."""
    probe = ("import sys, runpy; sys.argv = ['pybpf', 'trace', '-q', '-e', sys.argv[1]]\n"
             "try:\n    runpy.run_module('pybpf', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('codegen' if 'pybpf.lang.codegen' in sys.modules else 'no-codegen')")
    script = 'BEGIN { @x = 5; } interval:ms:10 { printf("tick\\n"); exit(); }'
    outs = [subprocess.run([sys.executable, "-c", probe, script], cwd=ROOT, env=os.environ,
                           capture_output=True, text=True, timeout=60) for _ in range(2)]
    assert [o.returncode for o in outs] == [0, 0], outs[0].stderr + outs[1].stderr
    first, second = (o.stdout.splitlines() for o in outs)
    assert first[-1] == "codegen" and second[-1] == "no-codegen"
    assert first[:-1] == second[:-1] and "tick" in first and "@x: 5" in first
