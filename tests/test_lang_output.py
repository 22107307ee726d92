"""Output formatting against strings captured from bpftrace 0.17 for the same data."""

from __future__ import annotations

import pytest

from pybpf.lang.output import (
    Hist,
    Stats,
    format_printf,
    hist_text,
    map_json,
    map_text,
    value_text,
)

BAR = "@" * 52
EMPTY = " " * 52


def test_log2_hist_text_trims_and_labels() -> None:
    h = Hist({1: 1, 4: 1, 12: 1})  # 0, 5, 1500
    lines = hist_text(h).splitlines()
    assert lines[0] == f"[0]                    1 |{BAR}|"
    assert lines[1] == f"[1]                    0 |{EMPTY}|"
    assert lines[2] == f"[2, 4)                 0 |{EMPTY}|"
    assert lines[3] == f"[4, 8)                 1 |{BAR}|"
    assert lines[10] == f"[512, 1K)              0 |{EMPTY}|"
    assert lines[11] == f"[1K, 2K)               1 |{BAR}|"
    assert len(lines) == 12


def test_hist_bar_scaling_and_big_labels() -> None:
    lines = hist_text(Hist({21: 9, 22: 27, 23: 4})).splitlines()
    assert lines == [
        "[512K, 1M)             9 |@@@@@@@@@@@@@@@@@                                   |",
        f"[1M, 2M)              27 |{BAR}|",
        "[2M, 4M)               4 |@@@@@@@                                             |",
    ]
    assert hist_text(Hist({0: 1})) == f"(..., 0)               1 |{BAR}|\n"


def test_lhist_labels() -> None:
    h = Hist({0: 1, 4: 1, 6: 1, 11: 1}, (0, 100, 10))
    lines = hist_text(h).splitlines()
    assert lines[0] == f"(..., 0)               1 |{BAR}|"
    assert lines[1] == f"[0, 10)                0 |{EMPTY}|"
    assert lines[4] == f"[30, 40)               1 |{BAR}|"
    assert lines[-1] == f"[100, ...)             1 |{BAR}|"
    k = hist_text(Hist({2: 1}, (0, 4096, 1024))).splitlines()
    assert k == [f"[1K, 2K)               1 |{BAR}|"]


def test_map_text_order_and_layout() -> None:
    entries = [(("b",), 3), (("a",), 3), (("c",), 1), (("zz",), 10)]
    assert map_text("@k", "count", entries) == "@k[c]: 1\n@k[a]: 3\n@k[b]: 3\n@k[zz]: 10\n"
    assert map_text("@s", "stats", [((), Stats(2, 30))]) == (
        "@s: count 2, average 15, total 30\n\n")
    assert map_text("@a", "avg", [((), Stats(2, 15))]) == "@a: 7\n\n"
    assert map_text("@t", "value", [((1, "a"), (1, "x"))]) == "@t[1, a]: (1, x)\n"
    two = [((1,), Hist({5: 4})), ((2,), Hist({0: 1}))]
    text = map_text("@", "hist", two)
    assert text.startswith("@[2]: \n(..., 0) ") and "\n\n@[1]: \n[8, 16) " in text
    assert map_text("@e", "count", []) == "\n"
    assert map_text("@v", "count", [((1,), 10), ((2,), 30), ((3,), 20)], top=2) == (
        "@v[3]: 20\n@v[2]: 30\n")
    assert map_text("@v", "count", [((1,), 10), ((2,), 30)], div=10) == "@v[1]: 1\n@v[2]: 3\n"


def test_map_json() -> None:
    assert map_json("@k", "count", [(("b",), 3), (("a",), 1)]) == (
        '{"type": "map", "data": {"@k": {"a": 1, "b": 3}}}')
    assert map_json("@t", "value", [((1, "a"), (1, "x"))]) == (
        '{"type": "map", "data": {"@t": {"1,a": [1,"x"]}}}')
    assert map_json("@s", "stats", [((), Stats(2, 30))]) == (
        '{"type": "stats", "data": {"@s": {"count": 2, "average": 15, "total": 30}}}')
    assert map_json("@e", "hist", [((), Hist({1: 1}))]) == (
        '{"type": "hist", "data": {"@e": [{"min": 0, "max": 0, "count": 1}]}}')


@pytest.mark.parametrize("fmt,args,want", [
    ("%d %s %x %5d|%-5d|%05d %u %c\n", [-3, "str", 255, 42, 42, 42, 7, 65],
     "-3 str ff    42|42   |00042 7 A\n"),
    ("%s|%10s|%-10s|", ["bpftrace", "ab", "cd"], "bpftrace|        ab|cd        |"),
    ("%u %x", [-1, -1], "18446744073709551615 ffffffffffffffff"),
    ("%lld %llu %ld", [5, 6, -7], "5 6 -7"),
])
def test_printf(fmt: str, args: list[object], want: str) -> None:
    assert format_printf(fmt, args) == want


def test_printf_percent_compat() -> None:
    assert format_printf("100%%", []) == "100%"
    assert format_printf("100%%", [], compat="0.17") == "100%%"  # 0.17 prints it verbatim


def test_value_text() -> None:
    assert value_text((1, "two", (3, "x"))) == "(1, two, (3, x))"
