"""What a doctor check returns, and how untrusted text gets into it safely.

A check is a function ``(Context) -> list[Result]``. Its ``detail`` and ``fix``
may quote things written by others (paths, env values, server answers): every
such piece goes through :func:`shown` first, which scrubs secrets and makes it
one inert log line, so a check can never be the way a key or a CI command
reaches the log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import SplitResult, urlsplit

from reactor_ci import logsafe, redact
from reactor_ci.errors import ExitCode

if TYPE_CHECKING:
    from reactor_ci.credentials import Credentials
    from reactor_ci.keys import ApiKey

Status = Literal["ok", "warn", "fail"]
T = TypeVar("T")

# Long enough for a path or a server message, short enough that a hostile
# 100 MB answer cannot flood the log.
_SHOWN_LIMIT = 300


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """``value`` scrubbed of secrets, bounded, and made one inert log line."""
    text = redact.scrub(str(value))
    if len(text) > limit:
        text = text[:limit] + "…"
    return logsafe.line(text)


class Deadline(Exception):
    pass


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()`` or :class:`Deadline` after ``seconds``; the straggler thread is a daemon."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=run, name="reactor-ci-doctor", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise Deadline()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def split_url(url: str) -> SplitResult | None:
    """``urlsplit`` that answers None instead of raising (unbalanced ``[`` in env values)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def url_port(parts: SplitResult) -> int | None:
    """The port (None when absent); -1 when it is not a valid port number."""
    try:
        return parts.port
    except ValueError:
        return -1


# Set by a front end (the GitHub Action, the GitLab component) for the doctor it runs after a failed login.
FRONTEND_ENV = "REACTOR_CI_FRONTEND"
# How the user of each front end changes what reactor-ci otherwise reads from an env variable: the fixes
# the doctor prints name THAT, not a variable the user never set.
_FRONTEND_SETTINGS: dict[str, dict[str, str]] = {
    "github-action": {
        "REACTOR_API_URL": "the action's api-url input",
        "REACTOR_API_KEY": "the action's api-key input",
    },
    "gitlab-component": {
        "REACTOR_API_URL": "the component's api-url input",
        "REACTOR_API_KEY": "the CI/CD variable the component's api-key-variable input names",
    },
}


def frontend_of(env: Mapping[str, str]) -> str | None:
    """The front end running us (``github-action``, ``gitlab-component``), or None; unknown values: None."""
    value = env.get(FRONTEND_ENV, "").strip()
    return value if value in _FRONTEND_SETTINGS else None


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str
    fix: str = ""
    # The exit class a failure maps to (documented in docs/doctor.md).
    exit_code: ExitCode = ExitCode.OK

    def as_json(self) -> dict[str, str]:
        # Already escaped piecewise; escaping the whole again keeps even a
        # check that forgot one piece inert (logsafe.line is idempotent).
        return {
            "check": self.check,
            "status": self.status,
            "detail": logsafe.line(redact.scrub(self.detail)),
            "fix": logsafe.line(redact.scrub(self.fix)),
        }


def ok(check: str, detail: str) -> Result:
    return Result(check, "ok", detail)


def warn(check: str, detail: str, fix: str) -> Result:
    return Result(check, "warn", detail, fix)


def fail(check: str, detail: str, fix: str, exit_code: ExitCode) -> Result:
    return Result(check, "fail", detail, fix, exit_code)


@dataclass
class Context:
    """What the checks share; later checks read what earlier ones learned."""

    env: Mapping[str, str]
    api_url: str
    credentials_path: Path
    timeout: float = 5.0
    provider: Any = None
    creds: Credentials | None = None
    key: ApiKey | None = None
    key_source: str = ""
    # The registry host docker must map to the helper: from the credentials,
    # else from the partner answer.
    registry_host: str | None = None
    api_reachable: bool | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, credentials_path: Path, *, timeout: float = 5.0, provider: Any = None) -> Context:
        from reactor_ci.api import api_url_from_env

        env = dict(os.environ)
        return cls(
            env=env,
            api_url=api_url_from_env(env),
            credentials_path=credentials_path,
            timeout=timeout,
            provider=provider,
        )

    @property
    def frontend(self) -> str | None:
        return frontend_of(self.env)

    def setting(self, variable: str) -> str:
        """What the user sets to change ``variable``: an input of the front end running us, else the variable."""
        frontend = self.frontend
        return _FRONTEND_SETTINGS[frontend].get(variable, variable) if frontend else variable

    @property
    def app_key_only(self) -> bool:
        """An rk_ key in the environment and no stored credentials: no registry, no Docker."""
        from reactor_ci.keys import ENV_VAR, KeyKind, kind_of

        raw = self.env.get(ENV_VAR, "").strip()
        return self.creds is None and kind_of(raw) is KeyKind.APP
