"""Buildkite: ``BUILDKITE=true``.

Masking runs ``buildkite-agent redactor add`` (agent 3.67+) with the values on
STDIN -- never on argv, where ``ps`` shows them: one call per batch of values
(``--format json``), per line for an agent that rejects that; the rule lives in
:mod:`reactor_ci.buildkite_agent`, which ``status``'s fast path shares.  Without
the binary there is no masking (``can_mask`` False).  Log groups are ``--- title``
lines, on stderr: the agent shows both streams in one log, and stdout is the user's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping

from reactor_ci import buildkite_agent, redact
from reactor_ci.ci._base import Provider
from reactor_ci.logsafe import line as safe_line

__all__ = ["Buildkite"]


class Buildkite(Provider):
    name = "buildkite"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self.agent = buildkite_agent.find(self.env)
        self.can_mask = self.agent is not None

    def mask(self, value: str) -> None:
        self.mask_many([value])

    def mask_many(self, values: Iterable[str]) -> None:
        """Every line of every value in one agent call (a warning line per failure, never a value)."""
        if self.agent is None:
            return
        for warning in buildkite_agent.add(self.agent, values, self.env):
            self._emit(warning)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._emit(f"--- {safe_line(redact.scrub(title))}")
        yield
