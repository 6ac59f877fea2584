"""GitLab CI: ``GITLAB_CI=true``.

GitLab cannot mask a value at run time (only masked CI/CD variables defined
in settings are masked, plus an experimental runner option an admin must
enable), so ``can_mask`` is False and the discipline is ours: never print.

Outputs: GitLab passes values between jobs through dotenv report artifacts,
which anyone who can read the pipeline can download.  So outputs are written
only when the job names a dotenv file in ``REACTOR_CI_DOTENV``, only for
values that are NOT secrets (nor multi-line), as ``REACTOR_<NAME>``
(``partner-id`` → ``REACTOR_PARTNER_ID``).  A secret is silently skipped: the
GitLab component hands the JWT to the job's shell through stdout instead.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

from reactor_ci import redact
from reactor_ci.ci._base import Provider, append_to
from reactor_ci.logsafe import line as safe_line

__all__ = ["GitLab", "dotenv_name"]

_ESC = "\x1b[0K"


def dotenv_name(name: str) -> str:
    return "REACTOR_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def _is_secret(value: str) -> bool:
    known = redact.registered()
    return value in known or any(s in value for s in known) or redact.scrub(value) != value


class GitLab(Provider):
    name = "gitlab"
    can_mask = False

    def missing_secret_hint(self) -> str:
        return (
            "Add it under Settings > CI/CD > Variables (masked). Protected variables reach protected "
            "branches and tags only, so a feature branch or a merge request from a fork gets none."
        )

    def set_output(self, name: str, value: str) -> None:
        path = self.env.get("REACTOR_CI_DOTENV")
        if not path:
            return
        if _is_secret(value) or "\n" in value or "\r" in value:
            # By design, not an accident: say nothing, a secret is simply never written there.
            return
        append_to("REACTOR_CI_DOTENV", path, f"{dotenv_name(name)}={value}\n".encode())

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        section = re.sub(r"[^A-Za-z0-9_.-]+", "_", title).strip("_")[:50] or "reactor_ci"
        section = f"reactor_ci_{section}"
        # The header is shown after `\r\x1b[0K`: an untrusted title must not
        # carry its own line break or section marker.
        header = safe_line(redact.scrub(title))
        self._emit(f"{_ESC}section_start:{int(time.time())}:{section}[collapsed=true]\r{_ESC}{header}")
        try:
            yield
        finally:
            self._emit(f"{_ESC}section_end:{int(time.time())}:{section}\r{_ESC}")
