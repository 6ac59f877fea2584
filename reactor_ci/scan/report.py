"""Reporters: text, JSON, SARIF 2.1.0 (:mod:`reactor_ci.scan.sarif`) and GitHub annotations.

Every reporter prints :attr:`Finding.redacted` (prefix + last 4 characters,
from :func:`reactor_ci.redact.redact`), never the secret itself, and the same
remediation for a finding (:func:`reactor_ci.scan.rules.remediation`: the
rule's fix, the history note, the ``--verify`` note).

File names are untrusted (``e\\n::warning file=x::INJECTED\\n.txt`` is a valid
name): a text line goes through :func:`reactor_ci.logsafe.line` whole, and an
annotation escapes its properties and message with the GitHub provider's own
functions, so the escaping lives in one place each.

HOT PATH: ``to_text`` runs in every pre-commit batch; a clean batch imports
nothing more, and json, logsafe, the SARIF module and the GitHub provider are
imported by the paths that use them.
"""

from __future__ import annotations

from reactor_ci.scan.finding import Finding, Skipped
from reactor_ci.scan.rules import SEVERITY_LEVELS, remediation, rule_by_id

TYPE_CHECKING = False  # collections.abc loads collections (~1 ms); mypy reads True
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "FALSE_ALARM",
    "fix_lines",
    "github_annotations",
    "in_github_actions",
    "remediation_lines",
    "render",
    "text_report",
    "to_json",
    "to_sarif",
    "to_text",
]

# SARIF level -> GitHub workflow command.
_GITHUB_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _where(f: Finding) -> str:
    loc = f"{f.path}:{f.line}:{f.col}"
    return f"{f.commit[:12]}:{loc}" if f.commit else loc


def _advice(f: Finding) -> str:
    return remediation(f.rule, history=bool(f.commit), verified=f.verified)


def _label(f: Finding) -> str:
    """``reactor-partner-key, git history, verified live``: what makes the advice differ."""
    parts = [f.rule]
    if f.commit:
        parts.append("git history")
    if f.verified:
        parts.append(f"verified {f.verified}")
    return ", ".join(parts)


def remediation_lines(findings: Sequence[Finding]) -> list[str]:
    """One ``fix [label]: advice`` line per distinct advice, in order of first appearance."""
    from reactor_ci.logsafe import line as log_line

    seen: dict[str, str] = {}
    for f in findings:
        seen.setdefault(_label(f), _advice(f))
    return [log_line(f"fix [{label}]: {advice}") for label, advice in seen.items()]


FALSE_ALARM = (
    "a false alarm: add `# pragma: allowlist secret` on the line, or accept it with `reactor-ci-scan --update-baseline`"
)


def fix_lines(findings: Sequence[Finding]) -> list[str]:
    """What every scan with findings prints on stderr after its report, even with ``--quiet``.

    pre-commit shows it on failure: the fixes, one per distinct advice, then how to
    silence a false alarm.  Each goes through :func:`reactor_ci.console.stderr`.
    """
    if not findings:
        return []
    return [*(f"  {fix}" for fix in remediation_lines(findings)), f"  {FALSE_ALARM}"]


def in_github_actions() -> bool:
    """THE one CI detection rule (reactor_ci.ci), asked only when there is something to annotate.

    Asked only when a CI marker or ``REACTOR_CI_PROVIDER`` is set at all: on a developer's
    machine (every pre-commit batch with a finding) the CI package (~6 ms) stays unloaded.
    """
    import os

    from reactor_ci.citables import MARKERS, OVERRIDE_VAR

    if not any(os.environ.get(name) for name in (OVERRIDE_VAR, *(variable for variable, _ in MARKERS.values()))):
        return False
    from reactor_ci.ci import detect_name

    return detect_name() == "github"


def text_report(findings: Sequence[Finding]) -> str:
    """The ``--format text`` report: :func:`to_text` over copies whose paths are one inert log line each.

    ``e\\n::warning …`` in a file name stays on its line.  For the text report only: JSON
    and SARIF encode the exact name, and baselines fingerprint it.
    """
    if not findings:
        return ""
    inert = []
    for f in findings:
        copy = Finding(*f.astuple())
        copy.path = f.log_path
        inert.append(copy)
    return to_text(inert)


def to_text(findings: Sequence[Finding]) -> str:
    """``path:line:col: rule: description (redacted)`` per finding: ONE line each, grep-able.

    Each line is made inert for CI log parsers as a whole: a file name can
    carry line breaks, ``::command`` or ``##vso[`` text. The fixes are
    :func:`remediation_lines`, printed on stderr by the CLI for every format.
    """
    if not findings:
        return ""  # the clean pre-commit batch: not even logsafe's regexes are compiled
    from reactor_ci.logsafe import line as log_line

    lines = []
    for f in findings:
        status = ""
        if f.verified:
            status = f" [verified: {f.verified}{', revoke it now' if f.verified == 'live' else ''}]"
        encoding = f" [encoding: {f.encoding}]" if f.encoding else ""
        lines.append(log_line(f"{_where(f)}: {f.rule}: {f.description} ({f.redacted}){encoding}{status}"))
    return "\n".join(lines) + "\n"


def _finding_dict(f: Finding) -> dict[str, object]:
    out = f.to_dict()
    rule = rule_by_id(f.rule)
    if rule is not None:
        out["severity"] = rule.severity
    out["remediation"] = _advice(f)
    return out


def to_json(findings: Sequence[Finding], skipped: Sequence[Skipped], scanned: int) -> str:
    """The JSON report, laid out as ``json.dumps(doc, indent=2)`` lays it out, byte for byte.

    ``json`` encodes in C only without ``indent``: on a big tree the skipped list
    (every binary: ~20k entries in an interpreter's lib tree) took 0.2 s of
    pure-Python encoding, serial, after the parallel scan.  Each entry's two
    strings go through the C encoder here, in the same layout.
    """
    import json

    doc = {
        "version": 1,
        "findings": [_finding_dict(f) for f in findings],
        "skipped": [],
        "summary": {"findings": len(findings), "files_scanned": scanned},
    }
    text = json.dumps(doc, indent=2) + "\n"
    if not skipped:
        return text
    string = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii=True), in C
    entries = ",\n".join(
        f'    {{\n      "path": {string(s.path)},\n      "reason": {string(s.reason)}\n    }}' for s in skipped
    )
    empty = '\n  "skipped": [],\n'
    at = text.rindex(empty)  # the last: findings come before it, and their strings are escaped
    return f'{text[:at]}\n  "skipped": [\n{entries}\n  ],\n{text[at + len(empty) :]}'


def to_sarif(findings: Sequence[Finding], *, from_top: bool = False) -> str:
    from reactor_ci.scan.sarif import to_sarif as _to_sarif

    return _to_sarif(findings, from_top=from_top)


def github_annotations(findings: Sequence[Finding], *, from_top: bool = False) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` lines, escaped by the GitHub provider's rules.

    ``file=`` is relative to the repository top, as GitHub resolves it (see
    :class:`reactor_ci.scan.sarif.RepoBase`); ``from_top``: the paths already are.
    """
    if not findings:
        return ""
    from reactor_ci.ci.github import escape_data, escape_property
    from reactor_ci.logsafe import line
    from reactor_ci.scan.sarif import RepoBase

    where = RepoBase(findings, from_top=from_top)
    out = []
    for f in findings:
        rule = rule_by_id(f.rule)
        command = _GITHUB_COMMAND[SEVERITY_LEVELS[rule.severity][0]] if rule else "error"
        title = f"reactor-ci: {f.rule}" + (" (LIVE key: revoke now)" if f.verified == "live" else "")
        # The path and the commit come from file names and git: logsafe.line() first
        # (a raw ESC, `##vso[`, a line break become visible text; an ordinary path is
        # left as it is, so GitHub still places the annotation), then GitHub's escaping.
        # A key inside an archive is annotated on the archive (line 1: the member's lines are not its lines).
        archive = f.archive
        place = (archive, 1, 1) if archive is not None else (f.path, f.line, f.col)
        props = ",".join(
            f"{k}={escape_property(str(v))}"
            for k, v in (
                ("file", line(where.relative(place[0]))),
                ("line", place[1]),
                ("col", place[2]),
                ("title", title),
            )
        )
        message = f"{f.description}: {f.redacted}"
        if f.member:
            message += f" in archive member {line(f.member)}, line {f.line}, column {f.col}"
        if f.encoding:
            message += f" ({f.encoding}-encoded)"
        if f.commit:
            message += f" (added in commit {line(f.commit[:12])})"
        message += f". Fix: {_advice(f)}"
        out.append(f"::{command} {props}::{escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


def render(
    fmt: str, findings: Sequence[Finding], skipped: Sequence[Skipped], scanned: int, *, from_top: bool = False
) -> str:
    """The report in ``fmt``; ``from_top``: paths are relative to the repository top, not the cwd."""
    if fmt == "json":
        return to_json(findings, skipped, scanned)
    if fmt == "sarif":
        return to_sarif(findings, from_top=from_top)
    if fmt == "github":
        return github_annotations(findings, from_top=from_top)
    return to_text(findings)
