"""The verifier corpus: one accepted and one rejected program per rule.

Each ``tests/verifier_corpus/*.s`` file states its expected verdict and the words
the rejection reason must contain; the kernel test loads the same files into the
running kernel and checks it agrees (or differs exactly where the file says).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pybpf.verifier import verify
from pybpf.verifier.source import Program, load_file

CORPUS = sorted((Path(__file__).parent / "verifier_corpus").glob("*.s"))


def _verify(p: Program):  # type: ignore[no-untyped-def]
    return verify(p.spec, maps=p.maps, strict_stack=p.strict,
                  max_insns=p.budget or 1_000_000)


def test_corpus_has_both_verdicts_per_rule() -> None:
    verdicts: Counter[str] = Counter()
    rules: dict[str, set[str]] = {}
    for f in CORPUS:
        p = load_file(f)
        assert p.verdict in ("accept", "reject"), f.name
        assert p.rule, f"{f.name}: no '; rule:' line"
        verdicts[p.verdict] += 1
        rules.setdefault(p.rule, set()).add(p.verdict)
        if p.verdict == "reject":
            assert p.errors, f"{f.name}: a rejected program must name its expected error"
    assert len(CORPUS) >= 100 and len(rules) >= 40
    lopsided = sorted(r for r, v in rules.items() if v != {"accept", "reject"})
    assert not lopsided, f"rules without both an accepted and a rejected program: {lopsided}"
    assert verdicts["accept"] >= 45 and verdicts["reject"] >= 55


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_program(path: Path) -> None:
    p = load_file(path)
    v = _verify(p)
    got = "accept" if v.accepted else "reject"
    detail = str(v.errors[0]) if v.errors else ""
    assert got == p.verdict, f"{path.name}: expected {p.verdict}, got {got}\n{detail}"
    if p.verdict == "reject":
        (err,) = v.errors
        for words in p.errors:
            assert words in err.reason, f"{path.name}: {words!r} not in {err.reason!r}"
        assert 0 <= err.index < len(p.spec.insns)
        assert err.insn_text  # the disassembly of the failing instruction
        assert err.source is not None and err.source.file == str(path)
    else:
        assert v.stats["insns_processed"] >= 1


@pytest.mark.kernel
def test_corpus_agrees_with_kernel() -> None:
    from pybpf.verifier.oracle import kernel_verify_spec

    differ = []
    for f in CORPUS:
        p = load_file(f)
        if p.budget:
            continue  # needs the full 1M-instruction budget: too slow for the suite
        k = kernel_verify_spec(p.spec, p.maps)
        want = p.kernel or p.verdict
        if ("accept" if k.accepted else "reject") != want:
            differ.append(f"{f.name}: kernel {'accepted' if k.accepted else k.message}")
    assert not differ, "\n".join(differ)
