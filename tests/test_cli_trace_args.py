"""`pybpf trace` parses its flags without argparse on the common path; whatever it
accepts must mean exactly what argparse makes of it, and the rest goes to argparse."""

from __future__ import annotations

import argparse

import pytest

from pybpf.cli.trace_cmd import add_arguments, fast_args

SAME = [
    ["-e", "BEGIN { exit(); }"],
    ["-qe", "BEGIN { exit(); }"],
    ["-q", "-eBEGIN{exit();}"],
    ["-lv", "tracepoint:syscalls:*"],
    ["-l"],
    ["script.bt", "1", "two", "3"],
    ["-p", "123", "-f", "json", "-o", "/tmp/x", "-B", "line", "-e", "x"],
    ["-c", "/bin/true -x", "-d", "-d", "--unsafe", "--dry-run", "--compat", "0.17", "-e", "y"],
    ["--compat=0.17", "-v", "f.bt", "a", "b"],
    ["-dd", "--info"],
    ["-V"],
    ["-", "arg"],
    ["--", "-notaflag", "p"],
]
TO_ARGPARSE = [
    ["-h"], ["--help"], ["-x"], ["--bogus"], ["-f", "xml"], ["-B", "some"],
    ["--compat", "0.26"], ["-p", "abc"], ["-e"], ["--dry"], ["--unsafe=1"],
    ["f.bt", "-q", "x"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return vars(p.parse_args(argv))


@pytest.mark.parametrize("argv", SAME, ids=" ".join)
def test_fast_path_means_what_argparse_means(argv: list[str]) -> None:
    ns = fast_args(argv)
    assert ns is not None
    got = vars(ns)
    assert (got.pop("command"), got.pop("version")) == ("trace", False)
    assert got == _argparse(argv)


@pytest.mark.parametrize("argv", TO_ARGPARSE, ids=" ".join)
def test_anything_unusual_goes_to_argparse(argv: list[str]) -> None:
    assert fast_args(argv) is None
