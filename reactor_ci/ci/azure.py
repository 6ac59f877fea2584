"""Azure Pipelines: ``TF_BUILD=True``.

Logging commands (``##vso[...]``) go to STDERR: stdout is the user's (a
``--json`` document, a JWT for ``$(...)``), and the agent reads commands from
both streams of a step -- its Node and PowerShell handlers, which run
``script:``, ``bash:``, ``pwsh:`` and ``powershell:`` steps, hook
``ErrorDataReceived`` to the same ``CommandManager.TryProcessCommand`` as
``OutputDataReceived`` (microsoft/azure-pipelines-agent,
src/Agent.Worker/Handlers/NodeHandler.cs and PowerShell3Handler.cs; see
docs/other-ci.md for the one legacy handler that does not).  Property values and data are escaped the way the agent unescapes
them (``;`` ``]`` CR LF); ``%`` is left alone because the agent decodes
``%AZP25`` only behind a feature flag.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import time
from collections.abc import Iterator

from reactor_ci import redact
from reactor_ci.ci._base import Provider, _check_level, append_to
from reactor_ci.citables import JOB_TEMP, mask_commands
from reactor_ci.citables import azure_escape as escape
from reactor_ci.logsafe import block
from reactor_ci.logsafe import line as safe_line

__all__ = ["Azure", "escape", "variable_name"]

_counter = itertools.count(1)


def variable_name(name: str) -> str:
    """Azure variable names allow letters, digits, ``.`` and ``_``: ``partner-id`` -> ``partner_id``."""
    mapped = name.replace("-", "_")
    if not re.fullmatch(r"[A-Za-z0-9_.]+", mapped):
        raise ValueError(f"invalid Azure Pipelines variable name: {name!r}")
    return mapped


class Azure(Provider):
    name = "azure"
    can_mask = True
    job_temp_env = JOB_TEMP["azure"]

    def _command(self, text: str) -> None:
        self._emit(text, self.err)

    def mask(self, value: str) -> None:
        for command in mask_commands(self.name, value):  # status's fast path writes the same lines
            self._command(command)
            self._last_mask = time.monotonic()

    def _setvariable(self, name: str, value: str, *, output: bool) -> None:
        props = f"variable={variable_name(name)}"
        if output:
            props += ";isOutput=true"
        if value in redact.registered():
            props += ";issecret=true"
        self._command(f"##vso[task.setvariable {props}]{escape(value)}")

    def set_output(self, name: str, value: str) -> None:
        self._setvariable(name, value, output=True)

    def set_env(self, name: str, value: str) -> None:
        # A pipeline variable becomes an environment variable of later steps.
        self._setvariable(name, value, output=False)

    def add_summary(self, markdown: str) -> None:
        temp = self.job_temp_dir()
        if temp is None:
            return
        # One file per summary: the agent reads them when the job ends.
        path = temp / f"reactor-ci-summary-{os.getpid()}-{next(_counter)}.md"
        append_to(self.job_temp_env or "AGENT_TEMPDIRECTORY", path, redact.scrub(markdown).encode())
        self._command(f"##vso[task.uploadsummary]{escape(str(path))}")

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
        # The agent scans every line for `##vso[`/`##[` anywhere, even inside a
        # command's data once unescaped: untrusted text is made inert first.
        message = block(redact.scrub(f"{title}: {message}" if title else message))
        if level not in ("error", "warning"):
            if level == "notice":
                self._emit(message, self.err)
            return
        props = [f"type={level}"]
        if file:
            props.append(f"sourcepath={escape(safe_line(file))}")
        if line is not None:
            props.append(f"linenumber={int(line)}")
        if col is not None:
            props.append(f"columnnumber={int(col)}")
        self._command(f"##vso[task.logissue {';'.join(props)}]{escape(message)}")

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command(f"##[group]{escape(safe_line(redact.scrub(title)))}")
        try:
            yield
        finally:
            self._command("##[endgroup]")
