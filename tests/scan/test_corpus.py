"""The labelled corpus: 100 % recall and no false positive, printed."""

from __future__ import annotations

import json
import os
from collections import Counter

from reactor_ci.scan import engine
from tests.repo import REPO_ROOT
from tests.scan_helpers import run_cli

CORPUS = str(REPO_ROOT / "tests" / "scan_corpus")


def _labels() -> Counter[tuple[str, int, str]]:
    with open(os.path.join(CORPUS, "labels.json"), encoding="utf-8") as fh:
        doc = json.load(fh)
    return Counter((e["path"], e["line"], e["rule"]) for e in doc["findings"])


def _score(found: Counter[tuple[str, int, str]], expected: Counter[tuple[str, int, str]]) -> tuple[float, list, list]:
    missed = sorted((expected - found).elements())
    false_pos = sorted((found - expected).elements())
    recall = 1 - len(missed) / sum(expected.values())
    return recall, missed, false_pos


def test_corpus_recall_and_false_positives() -> None:
    expected = _labels()
    cwd = os.getcwd()
    os.chdir(CORPUS)
    try:
        findings, count = engine.scan_paths(["pos", "neg"], engine.compile_rules())
    finally:
        os.chdir(cwd)
    found = Counter((f.path, f.line, f.rule) for f in findings)
    recall, missed, false_pos = _score(found, expected)
    by_rule = Counter(rule for _, _, rule in expected.elements())
    print(f"\ncorpus: {count} files, {sum(expected.values())} labelled findings {dict(by_rule)}")
    print(f"recall {recall:.1%} ({len(missed)} missed), false positives {len(false_pos)}")
    for m in missed:
        print("  MISSED", m)
    for fp in false_pos:
        print("  FALSE POSITIVE", fp)
    assert sum(expected.values()) >= 100
    assert len(by_rule) == 5  # every rule is exercised
    assert missed == [] and false_pos == []


def test_corpus_through_the_cli_json() -> None:
    proc = run_cli(["--format", "json", "-q", "pos", "neg"], cwd=CORPUS)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    found = Counter((f["path"], f["line"], f["rule"]) for f in doc["findings"])
    assert found == _labels()
    assert {"path": "neg/blob.bin", "reason": "binary"} in doc["skipped"]


def test_corpus_without_the_stripe_rule() -> None:
    """--no-stripe: Stripe keys vanish, and are never re-reported as Reactor keys."""
    expected = Counter({k: v for k, v in _labels().items() if k[2] != "stripe-restricted-key"})
    proc = run_cli(["--format", "json", "-q", "--no-stripe", "pos", "neg"], cwd=CORPUS)
    found = Counter((f["path"], f["line"], f["rule"]) for f in json.loads(proc.stdout)["findings"])
    assert found == expected
