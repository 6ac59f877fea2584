"""Reporters: text, JSON, SARIF 2.1.0 and GitHub workflow-command annotations.

Every reporter prints :attr:`Finding.redacted` (prefix + last 4 characters,
from :func:`reactor_ci.redact.redact`), never the secret itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from reactor_ci.scan.engine import Finding, Skipped
from reactor_ci.scan.rules import RULES

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["github_annotations", "render", "to_json", "to_sarif", "to_text"]


def _where(f: Finding) -> str:
    loc = f"{f.path}:{f.line}:{f.col}"
    return f"{f.commit[:12]}:{loc}" if f.commit else loc


def to_text(findings: Sequence[Finding]) -> str:
    lines = [f"{_where(f)}: {f.rule}: {f.description} ({f.redacted})" for f in findings]
    return "\n".join(lines) + ("\n" if lines else "")


def to_json(findings: Sequence[Finding], skipped: Sequence[Skipped], scanned: int) -> str:
    import json

    doc = {
        "version": 1,
        "findings": [f.to_dict() for f in findings],
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "summary": {"findings": len(findings), "files_scanned": scanned},
    }
    return json.dumps(doc, indent=2) + "\n"


def _sarif_rule(rule_id: str) -> dict[str, Any]:
    rule = next((r for r in RULES if r.id == rule_id), None)
    text = rule.description if rule else rule_id
    out: dict[str, Any] = {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "secret"], "security-severity": "9.0"},
    }
    if rule:
        out["help"] = {"text": f"Fix: {rule.fix}."}
    return out


def to_sarif(findings: Sequence[Finding]) -> str:
    import json

    rule_ids = [r.id for r in RULES]
    rule_ids += sorted({f.rule for f in findings} - set(rule_ids))
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = []
    for f in findings:
        message = f"{f.description}: {f.redacted}"
        if f.commit:
            message += f" (added in commit {f.commit[:12]})"
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": "error",
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": f.line, "startColumn": f.col},
                        }
                    }
                ],
                "partialFingerprints": {"reactorCiSecret/v1": f.fingerprint},
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reactor-ci-scan",
                        "rules": [_sarif_rule(rid) for rid in rule_ids],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_annotations(findings: Sequence[Finding]) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` lines (GitHub's escaping rules)."""
    out = []
    for f in findings:
        props = ",".join(
            f"{k}={_escape_property(str(v))}"
            for k, v in (("file", f.path), ("line", f.line), ("col", f.col), ("title", f"reactor-ci: {f.rule}"))
        )
        message = f"{f.description}: {f.redacted}"
        if f.commit:
            message += f" (added in commit {f.commit[:12]})"
        out.append(f"::error {props}::{_escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


def render(fmt: str, findings: Sequence[Finding], skipped: Sequence[Skipped], scanned: int) -> str:
    if fmt == "json":
        return to_json(findings, skipped, scanned)
    if fmt == "sarif":
        return to_sarif(findings)
    if fmt == "github":
        return github_annotations(findings)
    return to_text(findings)
