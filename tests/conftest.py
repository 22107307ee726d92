"""Test set-up: kernel tests are marked, skipped with a reason when the kernel
backend is unavailable, and counted in a summary line so a skipped kernel
suite is never silent."""

from __future__ import annotations

import functools
import os
from collections import Counter

import pytest


@functools.cache
def kernel_unavailable() -> str | None:
    """Why kernel tests cannot run here, or None."""
    if os.uname().sysname != "Linux":
        return "not Linux"
    if os.geteuid() != 0:
        return "not root (kernel tests need root or CAP_BPF+CAP_PERFMON)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "no /sys/kernel/btf/vmlinux"
    return None


_kernel_outcomes: Counter[str] = Counter()
_kernel_skip_reasons: Counter[str] = Counter()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = kernel_unavailable()
    if reason is None:
        return
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"kernel: {reason}"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "kernel" not in report.keywords:
        return
    if report.skipped and report.when in ("setup", "call"):
        _kernel_outcomes["skipped"] += 1
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _kernel_skip_reasons[reason.removeprefix("Skipped: ")] += 1
    elif report.when == "call":
        _kernel_outcomes[report.outcome] += 1
    elif report.when == "setup" and report.failed:
        _kernel_outcomes["failed"] += 1


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    ran = _kernel_outcomes["passed"] + _kernel_outcomes["failed"]
    line = (
        f"kernel tests: {ran} ran ({_kernel_outcomes['passed']} passed, "
        f"{_kernel_outcomes['failed']} failed), {_kernel_outcomes['skipped']} skipped"
    )
    terminalreporter.write_sep("=", line)
    for reason, n in _kernel_skip_reasons.most_common():
        terminalreporter.write_line(f"  skipped {n}: {reason}")
