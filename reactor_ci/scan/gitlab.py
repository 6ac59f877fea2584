"""``--format gitlab``: GitLab's Secret Detection report (``artifacts:reports:secret_detection``).

The document follows GitLab's published security report schema for secret
detection, version :data:`SCHEMA_VERSION` (tests validate it against the copy
in ``tests/data/``).  Attach it to a job as ``artifacts: reports:
secret_detection:`` (``templates/reactor-scan.yml`` does) and the findings show
in merge requests and the vulnerability report.

What each field holds, and why:

- ``location.file`` is relative to the repository top (GitLab reads it from
  the project root), the same rule as SARIF and annotations
  (:class:`reactor_ci.scan.sarif.RepoBase`).
- ``location.commit.sha`` is required: the commit that added the key in the
  history modes; otherwise the commit scanned (``$CI_COMMIT_SHA``, else
  ``git rev-parse HEAD``), else ``0000000`` as GitLab's own analyzer writes
  for a scan outside git.
- ``raw_source_code_extract`` is the REDACTED key (``rp_…wxyz``): the report is
  an artifact anyone with read access downloads, so the secret never goes in.
- ``id`` is derived from the baseline fingerprint (sha256(path NUL secret)),
  so it is stable between pipelines and reveals nothing about the key.
- ``solution`` is the same remediation every other format prints.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence

from reactor_ci import __version__
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.rules import remediation, rule_by_id

__all__ = ["SCHEMA_URI", "SCHEMA_VERSION", "to_gitlab"]

SCHEMA_VERSION = "15.1.0"
SCHEMA_URI = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/secret-detection-report-format.json"
)
_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
_NO_COMMIT = "0000000"
_TOOL = {
    "id": "reactor-ci-scan",
    "name": "reactor-ci scan",
    "url": "https://github.com/reactor/auth-action",
    "vendor": {"name": "Reactor"},
    "version": __version__,
}


def _timestamp(epoch: float) -> str:
    # The schema wants yyyy-mm-ddThh:mm:ss in UTC, without a zone suffix.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def _scanned_commit() -> str:
    from reactor_ci.scan.sarif import _git

    sha = os.environ.get("CI_COMMIT_SHA", "").strip()
    if sha and all(c in "0123456789abcdefABCDEF" for c in sha) and 7 <= len(sha) <= 64:
        return sha.lower()
    return _git("rev-parse", "HEAD") or _NO_COMMIT


def _uuid(fingerprint: str) -> str:
    """A UUID-shaped id (GitLab recommends one) from the finding's fingerprint: stable across runs."""
    h = fingerprint[:32]
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def _vulnerability(f: Finding, path: str, commit: str) -> dict[str, object]:
    rule = rule_by_id(f.rule)
    return {
        "id": _uuid(f.fingerprint),
        "category": "secret_detection",
        "name": f.description[:255],
        "description": f"{f.description}: {f.redacted} in {path}, line {f.line}"[:10000],
        "severity": _SEVERITY.get(rule.severity, "Unknown") if rule else "Unknown",
        "solution": remediation(f.rule, history=bool(f.commit), verified=f.verified)[:7000],
        "identifiers": [{"type": "reactor_ci_rule", "name": f"reactor-ci rule {f.rule}", "value": f.rule}],
        "location": {"file": path, "start_line": f.line, "end_line": f.line, "commit": {"sha": f.commit or commit}},
        "raw_source_code_extract": f.redacted,
    }


def to_gitlab(findings: Sequence[Finding], *, from_top: bool = False, seconds: float = 0.0, note: str = "") -> str:
    """The report as JSON text; ``seconds``: how long the scan took; ``note``: an info message (allowlisted)."""
    from reactor_ci.scan.sarif import RepoBase

    end = time.time()
    commit = _scanned_commit() if any(not f.commit for f in findings) else _NO_COMMIT
    where = RepoBase(findings, from_top=from_top) if findings else None
    scan: dict[str, object] = {
        "analyzer": _TOOL,
        "scanner": _TOOL,
        "type": "secret_detection",
        "status": "success",
        "start_time": _timestamp(end - max(seconds, 0.0)),
        "end_time": _timestamp(end),
    }
    if note:
        scan["messages"] = [{"level": "info", "value": note}]
    doc = {
        "version": SCHEMA_VERSION,
        "schema": SCHEMA_URI,
        "scan": scan,
        "vulnerabilities": [_vulnerability(f, where.relative(f.path) if where else f.path, commit) for f in findings],
    }
    return json.dumps(doc, indent=2) + "\n"
