"""The base provider: a local shell or a CI we do not know.

It cannot mask, ignores outputs and env for later steps, and prints
annotations as plain ``level: message`` lines on stderr.  Every CI module
subclasses it and overrides only what that CI really offers.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping

from reactor_ci.citables import mask_lines
from reactor_ci.logsafe import block
from reactor_ci.logsafe import line as safe_line  # `line` is annotate()'s line-number parameter

# No contextlib, pathlib or typing at import: `reactor-ci scan` (every pre-commit batch) and every
# command's start load this module, and those three cost ~5 ms of a clean interpreter's start.
TYPE_CHECKING = False  # typing costs ~2 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    import pathlib
    from contextlib import AbstractContextManager
    from typing import TextIO

__all__ = ["LEVELS", "Provider", "append_to", "markdown_code", "mask_lines"]

# Annotation levels every provider accepts; CIs map them onto their own.
LEVELS = ("error", "warning", "notice", "debug")

# How long a mask written to stderr gets before a secret goes to stdout: the
# runners read the two pipes on separate threads (see console.out_secret).
_SETTLE_SECONDS = 0.2


def markdown_code(value: str, limit: int = 200) -> str:
    """``value`` as inline code in a summary's Markdown table cell.

    Server answers, image names and digests are other people's text: a backtick,
    a ``|`` or a line break must not end the code span, the cell or the table.
    """
    text = " ".join(value.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text[:limit]}`"


def append_to(variable: str, path: str | pathlib.Path, data: bytes) -> None:
    """Append ``data`` to the file the CI variable ``variable`` names.

    The CI (or the job's setup) owns these files; one that is a directory or
    unwritable is a broken setup: bad input (exit 2) naming the variable, never
    an internal error.
    """
    try:
        with open(path, "ab") as handle:
            handle.write(data)
    except OSError as exc:
        from reactor_ci.errors import UsageError

        why = "is a directory" if isinstance(exc, IsADirectoryError) else f"cannot be written ({exc.strerror})"
        raise UsageError(
            f"{variable} leads to {path}, which {why}",
            f"{variable} is set by the CI (or the job's setup) and must lead to a file this job can write: "
            "do not override it.",
            code="bad_ci_file",
        ) from None


def _check_level(level: str) -> str:
    level = level.lower()
    if level == "info":
        level = "notice"
    if level not in LEVELS:
        raise ValueError(f"unknown annotation level {level!r}; use one of {', '.join(LEVELS)}")
    return level


class Provider:
    """A CI system as reactor-ci sees it.  This base is the local/unknown one."""

    name: str = "local"
    #: True when :meth:`mask` really hides a value in this CI's log.
    can_mask: bool = False

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        # A snapshot, so a test's fake env and the real one behave alike.
        self.env: dict[str, str] = dict(env if env is not None else _os_environ())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, can_mask={self.can_mask})"

    # Streams are looked up at call time so redirected/captured streams work.
    @property
    def out(self) -> TextIO:
        return sys.stdout

    @property
    def err(self) -> TextIO:
        return sys.stderr

    def _emit(self, line: str, stream: TextIO | None = None) -> None:
        stream = stream if stream is not None else self.err
        stream.write(line + "\n")
        stream.flush()

    #: When this provider last wrote a mask command (monotonic; 0: never).
    _last_mask: float = 0.0

    def settle(self) -> None:
        """Give the runner time to read a fresh mask before a secret goes to stdout."""
        if self._last_mask:
            wait = _SETTLE_SECONDS - (time.monotonic() - self._last_mask)
            if wait > 0:
                time.sleep(wait)

    # -- the API ---------------------------------------------------------
    def mask(self, value: str) -> None:
        """Hide ``value`` (each of its lines) in the CI log from now on; no-op here."""

    def mask_many(self, values: Iterable[str]) -> None:
        """Hide every value registered at once, in order; a CI whose masking costs a process per
        call (Buildkite) does it in one."""
        for value in values:
            self.mask(value)

    def set_output(self, name: str, value: str) -> None:
        """Expose a step output; ignored where the CI has no such thing."""

    def set_env(self, name: str, value: str) -> None:
        """Export ``name=value`` to LATER steps of the job; ignored here."""

    def add_summary(self, markdown: str) -> None:
        """Append Markdown to the job's summary page; ignored here."""

    def annotate(
        self,
        level: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        title: str | None = None,
    ) -> None:
        """Report ``message`` at ``level`` (error, warning, notice, debug)."""
        level = _check_level(level)
        if level == "debug":
            return
        # A plain log line, read by whatever CI we failed to detect: the file
        # name and title are other people's text, made inert like the message.
        where = ""
        if file:
            where = safe_line(file)
            if line is not None:
                where += f":{int(line)}" + (f":{int(col)}" if col is not None else "")
            where += ": "
        # The one shape of a plain-text problem line, as console prints it without a CI:
        # `reactor-ci: error: [file:line: ][title: ]message`.
        head = f"{safe_line(title)}: " if title and title != "reactor-ci" else ""
        self._emit(f"reactor-ci: {level}: {where}{head}{block(message)}")

    # The variable naming a directory the CI deletes after the job (None: no such directory).
    job_temp_env: str | None = None

    def job_temp_dir(self) -> pathlib.Path | None:
        """A directory the CI deletes after the job, or None when there is none."""
        temp = self.env.get(self.job_temp_env) if self.job_temp_env else None
        if not temp:
            return None
        from pathlib import Path

        return Path(temp)

    def group(self, title: str) -> AbstractContextManager[None]:
        """Fold the output printed inside the block under ``title`` (where the CI can); here, nothing."""
        return _NO_GROUP

    def in_action(self) -> bool:
        """True inside a packaged action/component step, whose user cannot edit our shell."""
        return False

    def later_path(self) -> list[str]:
        """Directories this job has already put on the PATH of its LATER steps (none by default)."""
        return []

    def missing_secret_hint(self) -> str:
        """Why a secret may be empty in this CI, and where to set it (for the empty-key error)."""
        return "set it from your CI's secret store."


class _NoGroup:
    """The base provider's ``group``: a context manager that does nothing (no contextlib import)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_GROUP = _NoGroup()


def _os_environ() -> Mapping[str, str]:
    import os

    return os.environ
