"""The docker engine the docker CLI would use: one client factory for `push` and `scan --image`.

Import-light: the docker SDK loads only when a client is made.
"""

from __future__ import annotations

import os
from typing import Any

from reactor_ci.errors import DockerError, UsageError
from reactor_ci.redact import scrub

__all__ = ["client"]

_ENV_DOCKER_HOST = "DOCKER_HOST"
_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_FROM_ENV = "from $DOCKER_HOST"
_FROM_CONTEXT = "from the current docker context"
_FROM_DEFAULT = "the default socket"


def client() -> Any:
    """An ``APIClient`` for the engine the docker CLI reaches (or a DockerError/UsageError with the fix)."""
    try:
        import docker
    except ImportError:
        from reactor_ci.release import pip_install

        raise UsageError(
            "the docker SDK is not installed",
            f"{pip_install('docker')} (or `pip install docker` into the same environment).",
            code="no_docker_sdk",
        ) from None
    # Same engine as the docker CLI: DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH,
    # else the current docker context (`docker context use`), else the default socket.
    kwargs: dict[str, Any] = {}
    source = _FROM_DEFAULT
    try:
        kwargs = docker.utils.kwargs_from_env()
        if "base_url" in kwargs:
            source = _FROM_ENV
        else:
            kwargs.update(_context_kwargs())
            source = _FROM_CONTEXT if "base_url" in kwargs else _FROM_DEFAULT
        # `version="auto"` negotiates, so an older engine (API 1.41) still works.
        # The timeout bounds each wait for the engine's next progress line, not
        # the push: a multi-GB layer is fine, 30 silent minutes is a hung engine.
        return docker.APIClient(version="auto", timeout=1800, **kwargs)
    except docker.errors.DockerException as exc:
        where = str(kwargs.get("base_url") or os.environ.get(_ENV_DOCKER_HOST) or _DEFAULT_SOCKET)
        raise _engine_unreachable(where, source, str(exc)) from None


def _engine_unreachable(where: str, source: str, detail: str) -> DockerError:
    """The engine is down or elsewhere: name the socket tried, where it came from, and the fix."""
    if source == _FROM_ENV:
        fix = (
            f"start the engine {_ENV_DOCKER_HOST} names, or point {_ENV_DOCKER_HOST} at a running one "
            "(unset it for the default socket)"
        )
    elif source == _FROM_CONTEXT:
        fix = "start that engine, or switch context (`docker context use default`)"
    else:
        fix = (
            "start dockerd (e.g. `sudo systemctl start docker`), or set DOCKER_HOST to the engine's socket "
            "(e.g. unix:///run/user/1000/docker.sock for rootless Docker)"
        )
    return DockerError(
        f"cannot reach the docker engine at {where} ({source}): {scrub(detail)[:300]}",
        fix + "; `docker version` shows what the docker CLI reaches.",
        code="engine",
    )


def _context_kwargs() -> dict[str, Any]:
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
    except Exception:  # a broken context store must not hide the default socket
        return {}
    if context is None or not context.Host or context.name == "default":
        return {}
    kwargs: dict[str, Any] = {"base_url": context.Host}
    if context.TLSConfig:
        kwargs["tls"] = context.TLSConfig
    return kwargs
