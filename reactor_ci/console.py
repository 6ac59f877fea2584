"""Everything reactor-ci prints goes through here, scrubbed of secrets.

Commands print human text to stderr and machine output (JSON, a raw token the
user asked for) to stdout. Warnings and errors are also turned into CI
annotations by the provider installed with :func:`set_provider`.
"""

from __future__ import annotations

import sys

from reactor_ci.logsafe import block, line
from reactor_ci.redact import scrub

TYPE_CHECKING = False  # typing costs ~3 ms to import (the scanner's finding path prints here); mypy reads True
if TYPE_CHECKING:
    from typing import Protocol

    class _Annotator(Protocol):
        def annotate(
            self,
            level: str,
            message: str,
            *,
            file: str | None = None,
            line: int | None = None,
            col: int | None = None,
            title: str | None = None,
        ) -> None: ...


_provider: _Annotator | None = None
_quiet = False


def set_provider(provider: _Annotator | None) -> None:
    global _provider
    _provider = provider


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def _safe(message: str) -> str:
    """Scrubbed of secrets, and every line inert for the CI's log parser."""
    return block(scrub(message))


def _safe_title(title: str | None) -> str:
    return line(scrub(title)) if title else "reactor-ci"


def stderr(message: str) -> None:
    """A human line on stderr, always (``--quiet`` is the caller's to honour), scrubbed and inert."""
    sys.stderr.write(_safe(message) + "\n")


def info(message: str) -> None:
    if not _quiet:
        print(_safe(message), file=sys.stderr, flush=True)


def warn(message: str, *, title: str | None = None) -> None:
    text = _safe(message)
    if _provider is not None:
        _provider.annotate("warning", text, title=_safe_title(title))
    else:
        print(f"reactor-ci: warning: {text}", file=sys.stderr, flush=True)


def error(message: str, *, title: str | None = None) -> None:
    text = _safe(message)
    if _provider is not None:
        _provider.annotate("error", text, title=_safe_title(title))
    else:
        print(f"reactor-ci: error: {text}", file=sys.stderr, flush=True)


def out(text: str) -> None:
    """Machine output on stdout, scrubbed."""
    print(scrub(text), flush=True)


def out_secret(text: str) -> None:
    """Machine output that IS the secret the user asked for (a JWT). Not scrubbed.

    The CI's mask for it went out on stderr a moment ago; a CI that reads the
    two streams separately gets a beat to apply it before the value appears.
    """
    settle = getattr(_provider, "settle", None)
    if callable(settle):
        settle()
    print(text, flush=True)
