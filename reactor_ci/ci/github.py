"""GitHub Actions (and act, which sets ``GITHUB_ACTIONS=true`` and ``ACT=true``).

Workflow commands go to STDERR, not stdout: the runner reads commands from
both streams (actions/runner hooks ``ErrorDataReceived`` like
``OutputDataReceived``), and act does too -- verified with act 0.2.89, see
docs/github-actions.md.  That keeps ``reactor-ci token --json`` stdout pure
JSON.  Because the runner reads the two pipes on separate threads, a secret
printed to STDOUT right after its mask went to stderr could in theory be
read first; :meth:`Provider.settle` waits out that window and the CLI calls it
before it ever writes a secret to stdout.
"""

from __future__ import annotations

import contextlib
import pathlib
import time
import uuid
from collections.abc import Iterator

from reactor_ci import redact
from reactor_ci.ci._base import Provider, _check_level, append_to
from reactor_ci.citables import JOB_TEMP, mask_commands
from reactor_ci.citables import github_escape_data as escape_data
from reactor_ci.logsafe import block
from reactor_ci.logsafe import line as safe_line

__all__ = ["GitHub", "escape_data", "escape_property"]

SUMMARY_LIMIT = 1024 * 1024  # bytes per step, GitHub's documented cap
_PATH_FILE_LIMIT = 64 * 1024
_PR_EVENTS = ("pull_request", "pull_request_review", "pull_request_review_comment")


def escape_property(text: str) -> str:
    """Escape a command property (``file=``, ``title=`` ...): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "<<" in name or "=" in name:
        raise ValueError(f"invalid name for a GitHub output or env variable: {name!r}")


def _heredoc(name: str, value: str) -> str:
    """``name<<DELIM`` / value / ``DELIM`` with a random DELIM absent from the value."""
    _check_name(name)
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value and delimiter not in name:
            break
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class GitHub(Provider):
    name = "github"
    can_mask = True
    job_temp_env = JOB_TEMP["github"]

    def _command(self, text: str) -> None:
        self._emit(text, self.err)

    def mask(self, value: str) -> None:
        for command in mask_commands(self.name, value):  # status's fast path writes the same lines
            self._command(command)
            self._last_mask = time.monotonic()

    def _append(self, variable: str, data: bytes) -> bool:
        """Append to the file ``$variable`` names; False when it is not set."""
        path = self.env.get(variable)
        if not path:
            return False
        append_to(variable, path, data)
        return True

    def set_output(self, name: str, value: str) -> None:
        if not self._append("GITHUB_OUTPUT", _heredoc(name, value).encode("utf-8")):
            self.annotate("warning", f"GITHUB_OUTPUT is not set; output {name} not recorded")

    def set_env(self, name: str, value: str) -> None:
        if not self._append("GITHUB_ENV", _heredoc(name, value).encode("utf-8")):
            self.annotate("warning", f"GITHUB_ENV is not set; {name} not exported to later steps")

    def add_summary(self, markdown: str) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        text = redact.scrub(markdown)
        if not text.endswith("\n"):
            text += "\n"
        try:
            used = pathlib.Path(path).stat().st_size
        except OSError:
            used = 0
        data = text.encode("utf-8")
        room = SUMMARY_LIMIT - used
        if len(data) > room:
            note = b"\n\n_(summary truncated: GitHub keeps 1 MiB per step)_\n"
            if room <= len(note):
                self.annotate("warning", "step summary is full (1 MiB); summary not written")
                return
            data = data[: room - len(note)].decode("utf-8", "ignore").encode("utf-8") + note
        self._append("GITHUB_STEP_SUMMARY", data)

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
        level = _check_level(level)
        # escape_* keep GitHub's own parser in line; logsafe makes the text
        # inert for any other CI that may read this log too (act under GitLab).
        props: list[str] = []
        if file:
            props.append(f"file={escape_property(safe_line(file))}")
        if line is not None:
            props.append(f"line={int(line)}")
        if col is not None:
            props.append(f"col={int(col)}")
        if title:
            props.append(f"title={escape_property(safe_line(redact.scrub(title)))}")
        head = f"::{level}" + (" " + ",".join(props) if props and level != "debug" else "")
        self._command(f"{head}::{escape_data(block(redact.scrub(message)))}")

    def in_action(self) -> bool:
        # Set in the steps of a packaged action (ours calls `reactor-ci auth`).
        return bool(self.env.get("GITHUB_ACTION_PATH"))

    def later_path(self) -> list[str]:
        # $GITHUB_PATH: one directory per line, prepended to PATH from the next step on. Bounded: it is a
        # file any earlier step could have filled.
        path = self.env.get("GITHUB_PATH")
        if not path:
            return []
        try:
            with open(path, "rb") as handle:
                text = handle.read(_PATH_FILE_LIMIT).decode("utf-8", "replace")
        except OSError:
            return []
        return [line.strip() for line in text.splitlines() if line.strip()]

    def missing_secret_hint(self) -> str:
        hint = ""
        if self.env.get("GITHUB_EVENT_NAME") in _PR_EVENTS:
            hint += (
                "This run is for a pull request: GitHub does not pass repository secrets to workflows run for "
                "pull requests from forks. Skip the step for forks "
                "(if: github.event.pull_request.head.repo.full_name == github.repository), "
                "or log in only on push to your branches. "
            )
        if self.env.get("GITHUB_ACTOR") == "dependabot[bot]":
            hint += (
                "Runs triggered by Dependabot read Dependabot secrets, not Actions secrets: "
                "add the key under Settings > Secrets > Dependabot. "
            )
        return hint + "Check the secret's name and pass it from `secrets.` (e.g. secrets.REACTOR_API_KEY)."

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command(f"::group::{escape_data(safe_line(redact.scrub(title)))}")
        try:
            yield
        finally:
            self._command("::endgroup::")
