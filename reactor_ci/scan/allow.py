"""The config's allowlists, applied in ONE place: a filter over findings that counts what it drops.

``exclude-paths`` (globs, relative to the config file's directory),
``allow-regexes`` (searched in the secret, as gitleaks does), ``allow-stopwords``
(a secret containing one, case-insensitive) and ``allow-commits`` (history
findings added by a listed commit).  Every mode (paths, ``--staged``, history,
stdin) and the detect-secrets plugin go through :class:`Allowlist`, and the
CLI prints how many findings it dropped (``3 findings allowlisted by
.reactor-ci.toml``), so a config that hides everything is visible.

Inline pragmas and the baseline are separate, older mechanisms (docs/scanning.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from reactor_ci.scan.config import ScanConfig
from reactor_ci.scan.finding import Finding

__all__ = ["Allowlist", "filter_findings", "glob_regex", "summary"]


def glob_regex(pattern: str) -> str:
    """A gitignore-style glob as a regex over a forward-slash relative path.

    ``*`` and ``?`` stay inside one path segment, ``**`` crosses segments, and
    ``[...]`` is a class.  A pattern without ``/`` matches a name at any depth
    (``*.pem``); a leading ``/`` anchors it at the config's directory; a
    trailing ``/`` (or a match of a directory part) covers everything below.
    """
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/") if anchored else pattern.rstrip("/")
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = body.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
            else:
                inner = body[i + 1 : end].replace("\\", "\\\\")
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append(f"[{inner}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return f"{prefix}{''.join(out)}(?:/.*)?"


class Allowlist:
    """The filter built from a :class:`ScanConfig`; :meth:`apply` returns ``(kept, dropped_count)``.

    ``base``: the directory finding paths are relative to (the cwd, or the
    repository top in ``--staged`` and history modes).
    """

    __slots__ = ("_commits", "_paths", "_prefix", "_regexes", "_stopwords", "config")

    def __init__(self, config: ScanConfig, base: str | None = None) -> None:
        self.config = config
        self._paths = (
            re.compile("|".join(f"(?:{glob_regex(p)})" for p in config.exclude_paths), re.DOTALL)
            if config.exclude_paths
            else None
        )
        self._regexes = tuple(re.compile(r) for r in config.allow_regexes)
        self._stopwords = tuple(w.lower() for w in config.allow_stopwords)
        self._commits = tuple(c.lower() for c in config.allow_commits)
        # Finding paths are relative to `base`; globs to the config's directory. Most runs (pre-commit,
        # CI) have both at the repository top: then paths are used as they are.
        self._prefix = ""
        if self._paths is not None and config.path:
            start = os.path.abspath(base or os.curdir)
            rel = os.path.relpath(start, config.directory)
            self._prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"

    def __bool__(self) -> bool:
        return bool(self._paths or self._regexes or self._stopwords or self._commits)

    def _relative(self, path: str) -> str:
        if path.startswith("./"):
            path = path[2:]
        if os.path.isabs(path) or self._prefix.startswith("../") or path.startswith("../"):
            full = os.path.normpath(os.path.join(self.config.directory, self._prefix, path))
            rel = os.path.relpath(full, self.config.directory)
            return rel.replace(os.sep, "/")
        return self._prefix + path

    def allows(self, path: str, secret: str, commit: str | None = None) -> bool:
        """Is a finding of ``secret`` at ``path`` (added by ``commit``) allowlisted?"""
        if self._paths is not None and self._paths.fullmatch(self._relative(path)):
            return True
        if any(r.search(secret) for r in self._regexes):
            return True
        if self._stopwords:
            lowered = secret.lower()
            if any(w in lowered for w in self._stopwords):
                return True
        return bool(commit and self._commits and any(commit.lower().startswith(c) for c in self._commits))

    def apply(self, findings: Iterable[Finding]) -> tuple[list[Finding], int]:
        kept: list[Finding] = []
        dropped = 0
        for f in findings:
            if self.allows(f.path, f.secret, f.commit):
                dropped += 1
            else:
                kept.append(f)
        return kept, dropped


def summary(count: int, config: ScanConfig) -> str:
    """``3 findings allowlisted by .reactor-ci.toml``."""
    return f"{count} finding{'' if count == 1 else 's'} allowlisted by {config.name}"


def filter_findings(
    findings: Sequence[Finding], config: ScanConfig, base: str | None = None
) -> tuple[list[Finding], int]:
    """Shorthand: :class:`Allowlist` ``(config, base).apply(findings)``."""
    allow = Allowlist(config, base)
    if not allow:
        return list(findings), 0
    return allow.apply(findings)
