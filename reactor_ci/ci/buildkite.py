"""Buildkite: ``BUILDKITE=true``.

Masking runs ``buildkite-agent redactor add`` (agent 3.67+) with the value on
STDIN -- never on argv, where ``ps`` shows it.  Without the binary there is
no masking (``can_mask`` False).  Log groups are ``--- title`` lines, on
stderr: the agent shows both streams in one log, and stdout is the user's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping

from reactor_ci import redact
from reactor_ci.ci._base import Provider, mask_lines
from reactor_ci.citables import BUILDKITE_AGENT
from reactor_ci.logsafe import line as safe_line

__all__ = ["Buildkite"]

_TIMEOUT = 30


class Buildkite(Provider):
    name = "buildkite"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self.agent = shutil.which(BUILDKITE_AGENT, path=self.env.get("PATH", os.defpath))
        self.can_mask = self.agent is not None

    def mask(self, value: str) -> None:
        if self.agent is None:
            return
        for line in mask_lines(value):
            try:
                result = subprocess.run(
                    [self.agent, "redactor", "add", "--format", "none"],
                    input=line,
                    text=True,
                    capture_output=True,
                    env=self.env,
                    timeout=_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                self._emit(f"reactor-ci: warning: buildkite-agent redactor add failed: {type(exc).__name__}")
                continue
            if result.returncode != 0:
                # The agent's stderr never echoes the value it read on stdin.
                self._emit(f"reactor-ci: warning: buildkite-agent redactor add exited {result.returncode}")

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._emit(f"--- {safe_line(redact.scrub(title))}")
        yield
