"""A Markdown summary of a scan for ``$GITHUB_STEP_SUMMARY`` (``--step-summary FILE``).

Findings per rule and per file, keys redacted.  File names are untrusted: each
goes through :func:`reactor_ci.logsafe.line` (one inert line) and then has the
characters Markdown and HTML give a meaning (``|``, backticks, ``<``, ``>``,
``&``, ``[``, ``]``, ``*``, ``_``, ``\\``) escaped, so a name cannot break the
table, inject a link or HTML.  Long lists are capped.
"""

from __future__ import annotations

from collections.abc import Sequence

from reactor_ci.scan.finding import Finding

__all__ = ["MAX_ROWS", "markdown"]

MAX_ROWS = 200
_ESCAPES = {c: f"&#{ord(c)};" for c in "|`<>&[]*_\\~#!"}


def _md(text: str) -> str:
    from reactor_ci.logsafe import line

    return "".join(_ESCAPES.get(c, c) for c in line(text))


def markdown(findings: Sequence[Finding], scanned: int, note: str = "") -> str:
    n = len(findings)
    out = [
        f"### reactor-ci scan: {n} finding{'' if n == 1 else 's'} in {scanned} file{'' if scanned == 1 else 's'}",
        "",
    ]
    if note:
        out += [_md(note), ""]
    if findings:
        per_rule: dict[str, int] = {}
        for f in findings:
            per_rule[f.rule] = per_rule.get(f.rule, 0) + 1
        out += ["| rule | findings |", "| --- | ---: |"]
        out += [f"| {_md(rule)} | {count} |" for rule, count in sorted(per_rule.items())]
        out += ["", "| file | line | rule | key |", "| --- | ---: | --- | --- |"]
        for f in sorted(findings, key=lambda f: (f.path, f.line, f.col))[:MAX_ROWS]:
            where = f"{f.path} (commit {f.commit[:12]})" if f.commit else f.path
            out.append(f"| {_md(where)} | {f.line} | {_md(f.rule)} | {_md(f.redacted)} |")
        if n > MAX_ROWS:
            out.append(f"| … {n - MAX_ROWS} more (see the SARIF report) | | | |")
    return "\n".join(out) + "\n\n"
