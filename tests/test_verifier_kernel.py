"""Agreement with the running kernel's verifier (root): corpus + random programs.

Prints the agreement rate and every category of disagreement (run with -s to
see it); requires at least 95% agreement.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pybpf.uapi import ProgType
from pybpf.verifier import verify
from pybpf.verifier.randprog import MAPS, random_program
from pybpf.verifier.source import load_file

CORPUS = sorted((Path(__file__).parent / "verifier_corpus").glob("*.s"))
RANDOM = 250


def _category(ours: str, kernel: str) -> str:
    for words, name in (
        ("uninitialized", "uninitialized stack read (the kernel allows it for CAP_PERFMON)"),
        ("reserved field", "an RFC 9669 encoding rule broken in code the kernel never reaches"),
        ("No program to jit", "kernel bug: bpf_loop with a constant 0 count in a program "
                              "with another function ('verifier bug: No program to jit')"),
    ):
        if words in ours or words in kernel:
            return name
    return f"ours: {ours[:70]!r} / kernel: {kernel[:70]!r}"


@pytest.mark.kernel
def test_agreement_with_the_kernel_verifier() -> None:
    from pybpf.verifier.oracle import kernel_verify, kernel_verify_spec

    total = agree = 0
    cats: Counter[str] = Counter()
    for f in CORPUS:
        p = load_file(f)
        if p.budget:
            continue
        v = verify(p.spec, maps=p.maps)
        k = kernel_verify_spec(p.spec, p.maps)
        total += 1
        if v.accepted == k.accepted:
            agree += 1
        else:
            cats[_category(v.errors[0].reason if v.errors else "accepted", k.message
                           or "accepted")] += 1
    accepted = strict_only = 0
    for seed in range(RANDOM):
        rp = random_program(seed, snippets=8)
        v = verify(rp.insns, ProgType.XDP, list(MAPS))
        if not v.accepted and "uninitialized stack" in v.errors[0].reason:
            strict_only += 1  # our default; compare under the kernel's CAP_PERFMON rule
            v = verify(rp.insns, ProgType.XDP, list(MAPS), strict_stack=False)
        k = kernel_verify(rp.insns, ProgType.XDP, list(MAPS))
        total += 1
        accepted += k.accepted
        if v.accepted == k.accepted:
            agree += 1
        else:
            cats[_category(v.errors[0].reason if v.errors else "accepted", k.message
                           or "accepted")] += 1
    rate = agree / total
    print(f"\nverifier agreement with the kernel: {agree}/{total} = {rate:.1%} "
          f"({len(CORPUS)} corpus files, {RANDOM} random programs, kernel accepted "
          f"{accepted} of those)")
    print(f"  ({strict_only} random programs read uninitialized stack: rejected by default, "
          "compared with strict_stack=False)")
    for cat, n in cats.most_common():
        print(f"  disagreement x{n}: {cat}")
    assert 0.2 * RANDOM < accepted < 0.8 * RANDOM  # the random set exercises both verdicts
    assert rate >= 0.95, cats
