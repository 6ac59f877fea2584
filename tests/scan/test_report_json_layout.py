"""The JSON report's fast layout is json.dumps(doc, indent=2), byte for byte (Hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan.finding import Finding, Skipped
from reactor_ci.scan.report import _finding_dict, to_json
from tests.scan_helpers import fake_key

# Any text a file name or a reason may hold: control characters, quotes, backslashes,
# non-ASCII, lone surrogates (surrogateescape'd bytes), and the report's own layout text.
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(['\n  "skipped": [],\n', '"', "\\", "\udcff", "é/ü.txt", "a\nb", "::error"]),
)


def _reference(findings: list[Finding], skipped: list[Skipped], scanned: int) -> str:
    doc = {
        "version": 1,
        "findings": [_finding_dict(f) for f in findings],
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "summary": {"findings": len(findings), "files_scanned": scanned},
    }
    return json.dumps(doc, indent=2) + "\n"


@settings(max_examples=200, deadline=None)
@given(
    paths=st.lists(TEXT, max_size=3),
    skipped=st.lists(st.tuples(TEXT, TEXT), max_size=6),
    scanned=st.integers(min_value=0, max_value=10**6),
)
def test_layout_matches_indent_2(paths: list[str], skipped: list[tuple[str, str]], scanned: int) -> None:
    findings = [Finding("reactor-partner-key", "d", p, 1, 2, fake_key()) for p in paths]
    skips = [Skipped(p, r) for p, r in skipped]
    out = to_json(findings, skips, scanned)
    assert out == _reference(findings, skips, scanned)
    assert json.loads(out)["skipped"] == [{"path": p, "reason": r} for p, r in skipped]
