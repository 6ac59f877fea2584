"""The finding model: what a scan reports (:class:`Finding`) and what it could not read (:class:`Skipped`).

Plain classes with ``__slots__``, not dataclasses: importing dataclasses costs
~7 ms, paid on every pre-commit batch.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ARCHIVE_NOTE", "VERIFIED_STATES", "Finding", "Skipped"]

# The reason of every note reactor_ci.scan.archive records starts so: the summary counts them.
ARCHIVE_NOTE = "archive: "

# What ``scan --verify`` may record in :attr:`Finding.verified`.
VERIFIED_STATES = ("live", "revoked", "expired", "invalid", "unknown")


class Finding:
    """One leaked secret.  ``secret`` is never printed: use :attr:`redacted`.

    ``path`` is the display path (relative, forward slashes, exactly as git or
    the file system spells it: it may hold any character, so every text
    output escapes it).  In history modes ``commit`` is the commit that ADDED
    the key and ``line``/``col`` are where it sits in that commit's version of
    ``path``.  ``verified`` is filled by ``scan --verify`` (one of
    :data:`VERIFIED_STATES`), else None.
    """

    __slots__ = ("col", "commit", "description", "encoding", "line", "member", "path", "rule", "secret", "verified")

    def __init__(
        self,
        rule: str,
        description: str,
        path: str,
        line: int,
        col: int,
        secret: str,
        commit: str | None = None,
        verified: str | None = None,
        member: str | None = None,
        encoding: str | None = None,
    ) -> None:
        self.rule = rule
        self.description = description
        self.path = path
        self.line = line
        self.col = col
        self.secret = secret
        self.commit = commit
        self.verified = verified
        self.member = member
        self.encoding = encoding

    def __repr__(self) -> str:
        return f"Finding({self.rule}, {self.path!r}:{self.line}:{self.col}, {self.redacted})"

    def astuple(
        self,
    ) -> tuple[str, str, str, int, int, str, str | None, str | None, str | None, str | None]:
        """Every field in constructor order: ``Finding(*f.astuple())`` is an equal copy."""
        return (
            self.rule,
            self.description,
            self.path,
            self.line,
            self.col,
            self.secret,
            self.commit,
            self.verified,
            self.member,
            self.encoding,
        )

    @property
    def archive(self) -> str | None:
        """The archive file's own path when the key is inside one (``image.tar``), else None."""
        if not self.member:
            return None
        return self.path[: len(self.path) - len(self.member) - 1]

    @property
    def redacted(self) -> str:
        from reactor_ci.redact import redact

        return redact(self.secret)

    @property
    def fingerprint(self) -> str:
        """sha256(path NUL secret): stable when lines move, so baselines do not churn."""
        import hashlib

        return hashlib.sha256(f"{self.path}\0{self.secret}".encode("utf-8", "surrogateescape")).hexdigest()

    @property
    def log_path(self) -> str:
        """``path`` as one inert log line (a file name may hold ``\\n::warning ...``)."""
        from reactor_ci.logsafe import line

        return line(self.path)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "description": self.description,
            "redacted": self.redacted,
            "fingerprint": self.fingerprint,
        }
        if self.commit:
            out["commit"] = self.commit
        if self.verified:
            out["verified"] = self.verified
        if self.member:
            out["archive"] = self.archive
            out["member"] = self.member
        if self.encoding:
            out["encoding"] = self.encoding
        return out


class Skipped:
    """A file the scan did not read, and why (``symlink``, ``binary``, ``larger than N bytes``...)."""

    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason

    def __repr__(self) -> str:
        return f"Skipped({self.path!r}, {self.reason!r})"
