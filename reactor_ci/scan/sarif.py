"""SARIF 2.1.0 for GitHub code scanning and other consumers.

What consumers check, and why each piece is here:

- ``artifactLocation.uri`` must be an RFC 3986 URI reference (the schema's
  ``uri-reference`` format): a file name is percent-encoded byte by byte
  (UTF-8, or the raw bytes of a non-UTF-8 name), so spaces, ``é``, TAB,
  newlines, ``%``, ``#``, ``?`` and quotes survive a round trip. Relative
  paths hang off ``%SRCROOT%`` (the repository root in history modes, the
  scan's working directory otherwise); an absolute path becomes a ``file:``
  URI.
- ``tool.driver`` names its ``version``, ``semanticVersion`` and
  ``informationUri``; each rule carries its remediation (``help``), its
  ``level`` and GitHub's ``security-severity`` from the rule table.
- A history finding (``--since``/``--all-history``/``--pre-push``) points at
  the path and line in the commit that ADDED the key, which HEAD may no longer
  hold. The commit is structured, not only prose: ``properties.commit``, a
  ``partialFingerprints`` entry, and one ``run.versionControlProvenance`` entry
  per commit (``revisionId``), so a consumer can open the right revision.

Validated against the OASIS schema with format checking in
tests/scan/test_sarif.py (schema vendored in tests/data/).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from reactor_ci import __version__
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.rules import RULES, SEVERITY_LEVELS, history_note, remediation, rule_by_id

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["INFORMATION_URI", "TOOL_NAME", "RepoBase", "artifact_uri", "repository_uri", "to_sarif"]

TOOL_NAME = "reactor-ci-scan"
INFORMATION_URI = "https://github.com/reactor/auth-action"
_HELP_URI = INFORMATION_URI + "/blob/main/docs/scanning.md"
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_GIT_TIMEOUT = 10.0


def artifact_uri(path: str) -> tuple[str, str | None]:
    """``(uri, uriBaseId)`` for a display path: a valid RFC 3986 reference, every odd byte encoded.

    ``quote`` with ``safe="/"`` leaves only unreserved characters and ``/``
    bare, so ``:`` in a first segment (which would read as a scheme), ``#``,
    ``?`` and ``%`` are encoded too. ``surrogateescape`` gives back the raw
    bytes of a name that is not UTF-8 (``os.fsdecode`` made it).
    """
    encoded = quote(path, safe="/", encoding="utf-8", errors="surrogateescape")
    if path.startswith("/"):
        return "file://" + encoded, None
    return encoded, SRCROOT


def _git(*args: str) -> str | None:
    """One line of git output ("" is an answer), or None: never a reason to fail a scan."""
    try:
        proc = subprocess.run(
            ["git", *args], capture_output=True, check=False, timeout=_GIT_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    out = os.fsdecode(proc.stdout.rstrip(b"\n"))
    return out if "\n" not in out else None


def _clean_remote(url: str) -> str | None:
    """An absolute URI for a git remote, WITHOUT credentials.

    ``https://x-access-token:ghs_…@github.com/o/r`` is how CI checkouts often
    spell the remote: the user-info part is dropped whole, with any query or
    fragment. The scp form ``git@host:o/r.git`` becomes ``ssh://host/o/r.git``.
    """
    url = url.strip()
    if "://" not in url:
        host, sep, path = url.partition(":")
        if not sep or "/" in host or not host:
            return None
        url = f"ssh://{host}/{path.lstrip('/')}"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http", "ssh", "git") or not hostname:
        return None
    if "@" in parts.path:  # "https://host/:token@x": not a URL we can tell is credential-free
        return None
    host = f"[{hostname}]" if ":" in hostname else quote(hostname, safe=".-")
    netloc = host + (f":{port}" if port else "")
    path = quote(unquote(parts.path), safe="/")
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def repository_uri(env: dict[str, str] | None = None) -> str | None:
    """The repository's URI for ``versionControlProvenance``: the CI's own, else the origin remote."""
    environ = os.environ if env is None else env
    server, repo = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
    if server and repo:
        cleaned = _clean_remote(f"{server.rstrip('/')}/{repo}")
        if cleaned:
            return cleaned
    project = environ.get("CI_PROJECT_URL", "")
    if project:
        cleaned = _clean_remote(project)
        if cleaned:
            return cleaned
    remote = _git("remote", "get-url", "origin") or None
    cleaned = _clean_remote(remote) if remote else None
    if cleaned:
        return cleaned
    top = _git("rev-parse", "--show-toplevel")
    if top and top.startswith("/"):
        return _dir_uri(top)
    return None


def _dir_uri(directory: str) -> str:
    return "file://" + quote(directory.rstrip("/") + "/", safe="/", errors="surrogateescape")


class RepoBase:
    """Where ``%SRCROOT%`` is, and how a finding's path becomes relative to it.

    GitHub code scanning reads ``uri`` relative to the repository root. The
    history and ``--staged`` modes already give top-relative paths; the path
    and ``--all`` modes give paths relative to the working directory, which
    is the top only when the scan runs there. So: inside a work tree,
    ``%SRCROOT%`` is its top and cwd-relative paths get git's
    ``--show-prefix``; a path that leaves the tree becomes an absolute
    ``file:`` URI; outside git, ``%SRCROOT%`` is the working directory.
    ``run.originalUriBaseIds`` says which, as an absolute directory URI.
    """

    def __init__(self, findings: Sequence[Finding], *, from_top: bool) -> None:
        from_top = from_top or any(f.commit for f in findings)
        self.prefix = "" if from_top else (_git("rev-parse", "--show-prefix") or "")
        top = _git("rev-parse", "--show-toplevel")
        self.root = top if top and top.startswith("/") else os.getcwd()

    def relative(self, path: str) -> str:
        """``path`` relative to the top of the work tree, or absolute if it is outside."""
        if path.startswith("/") or not self.prefix:
            return path
        joined = os.path.normpath(self.prefix + path)
        if joined == ".." or joined.startswith("../"):
            return os.path.normpath(os.path.join(self.root, joined))
        return joined

    def locate(self, path: str) -> tuple[str, str | None]:
        return artifact_uri(self.relative(path))

    def original_uri_base_ids(self) -> dict[str, Any]:
        return {SRCROOT: {"uri": _dir_uri(self.root)}}


def _rule(rule_id: str) -> dict[str, Any]:
    rule = rule_by_id(rule_id)
    if rule is None:  # a finding of a rule the table no longer has (e.g. a detect-secrets plugin id)
        return {"id": rule_id, "shortDescription": {"text": rule_id}}
    level, score = SEVERITY_LEVELS[rule.severity]
    note = history_note()
    history_help = note[:1].upper() + note[1:] + "."
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": f"{rule.description}. Fix: {remediation(rule_id)}"},
        "help": {
            "text": f"Fix: {remediation(rule_id)}\nFound in git history: {history_help}",
            "markdown": f"**Fix:** {remediation(rule_id)}\n\n**Found in git history:** {history_help}",
        },
        "helpUri": _HELP_URI,
        "defaultConfiguration": {"level": level},
        "properties": {
            # "security" files the alert under security; CWE-798: use of hard-coded credentials.
            "tags": ["security", "secret", "external/cwe/cwe-798"],
            "precision": "high",
            "security-severity": score,
        },
    }


def _result(f: Finding, index: dict[str, int], where: RepoBase) -> dict[str, Any]:
    rule = rule_by_id(f.rule)
    # A key inside an archive: the artifact is the archive file (what the repository
    # holds, what GitHub can open); the member and its line are in the message, a
    # logical location and the properties, and the region is the archive's line 1.
    archive = f.archive
    uri, base = where.locate(archive if archive is not None else f.path)
    artifact: dict[str, Any] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base
    message = f"{f.description} ({f.redacted})"
    if f.member:
        message += f" in archive member {f.member}, line {f.line}, column {f.col}"
    if f.encoding:
        message += f", {f.encoding}-encoded"
    if f.commit:
        message += f", added in commit {f.commit[:12]}"
    if f.verified:
        message += f", verified: {f.verified}"
    message += f". Fix: {remediation(f.rule, history=bool(f.commit), verified=f.verified)}"
    fingerprints = {"reactorCiSecret/v1": f.fingerprint}
    properties: dict[str, Any] = {}
    if f.commit:
        fingerprints["reactorCiCommit/v1"] = f.commit
        properties["commit"] = f.commit
    if f.verified:
        properties["verified"] = f.verified
    if f.member:
        properties.update(member=f.member, memberLine=f.line, memberColumn=f.col)
    if f.encoding:
        properties["encoding"] = f.encoding
    line, col = (1, 1) if f.member else (max(1, f.line), max(1, f.col))
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": SEVERITY_LEVELS[rule.severity][0] if rule else "error",
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": line, "startColumn": col},
                },
                **({"logicalLocations": [{"fullyQualifiedName": f.member, "kind": "member"}]} if f.member else {}),
            }
        ],
        "partialFingerprints": fingerprints,
    }
    if properties:
        out["properties"] = properties
    return out


def _provenance(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    commits = list(dict.fromkeys(f.commit for f in findings if f.commit))
    if not commits:
        return []
    repo = repository_uri()
    if repo is None:
        return []  # repositoryUri is required; the commits are still in each result's properties
    return [{"repositoryUri": repo, "revisionId": commit} for commit in commits]


def to_sarif(findings: Sequence[Finding], *, from_top: bool = False) -> str:
    """The SARIF log. ``from_top``: the paths are relative to the repository top (``--staged``)."""
    where = RepoBase(findings, from_top=from_top)
    rule_ids = [r.id for r in RULES]
    rule_ids += sorted({f.rule for f in findings} - set(rule_ids))
    index = {rid: i for i, rid in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rid) for rid in rule_ids],
            }
        },
        "originalUriBaseIds": where.original_uri_base_ids(),
        "columnKind": "unicodeCodePoints",  # the engine counts columns in decoded characters
        "results": [_result(f, index, where) for f in findings],
    }
    provenance = _provenance(findings)
    if provenance:
        run["versionControlProvenance"] = provenance
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2) + "\n"
