"""``docker-credential-reactor``: the Docker credential helper protocol.

Docker (and skopeo, podman, crane, BuildKit) run ``docker-credential-reactor
ACTION`` with the server on stdin and read JSON from stdout. ``get`` hands out
the Reactor registry token, refreshed first when it is not fresh enough for a
push that is about to START: the engine never retries a 401 in the middle of a
push, so a token that dies during a two-hour upload fails the upload. The
refresh rule (half lifetime, or less than ``REACTOR_CI_MIN_TOKEN_LIFETIME``
left) lives in :mod:`reactor_ci.session`, the one place that decides.

Rules the protocol imposes (docker-credential-helpers):

* stdout carries only the answer; every client parses it. Logs go to a file
  (``$REACTOR_CI_HELPER_LOG``, default ``~/.reactor/helper.log``), scrubbed.
* not found is exactly ``credentials not found in native keychain`` + exit 1;
  any other error is a message on stdout + exit 1.
* the docker CLI swallows helper errors and pushes ANONYMOUSLY, which fails
  later with a misleading ``denied``; so every failure is logged explicitly,
  with the fix, for ``reactor-ci push`` and a human to find.

Start-up time matters: ``get`` runs once per push, pull and (for BuildKit)
per auth callback. The cached path imports only the stdlib plus
:mod:`reactor_ci.credentials` and :mod:`reactor_ci.session`, which keep httpx
and filelock lazy until a refresh really has to talk to the API.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reactor_ci.credentials import Credentials

NOT_FOUND = "credentials not found in native keychain"
LOG_ENV = "REACTOR_CI_HELPER_LOG"
# Seconds of API retries before falling back to a still-valid token.
_FALLBACK_BUDGET = 8.0
_RETRY_BUDGET_ENV = "REACTOR_CI_RETRY_MAX_SECONDS"
USAGE = "Usage: docker-credential-reactor <get|store|erase|list|version>"


class HelperError(Exception):
    """A failure to report on stdout (short) and in the log (with the fix)."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


def log_path() -> str:
    configured = os.environ.get(LOG_ENV, "").strip()
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".reactor", "helper.log")


def log(message: str) -> None:
    """Append one scrubbed line to the helper log; never raise (a log must not break a push)."""
    try:
        from reactor_ci.redact import scrub

        path = log_path()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} pid={os.getpid()} {scrub(message)}".replace("\n", " | ")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception:  # noqa: S110 - logging is best effort by design
        pass


def normalize_server(raw: str) -> str:
    """``https://host:port/v2/`` -> ``host:port``: clients differ in what they send."""
    server = raw.strip()
    for scheme in ("https://", "http://"):
        if server.lower().startswith(scheme):
            server = server[len(scheme) :]
            break
    return server.split("/", 1)[0].lower()


def _read_stdin() -> str:
    try:
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


def _load() -> Credentials | None:
    from reactor_ci.credentials import CredentialsStore

    return CredentialsStore().load()


def get(server_raw: str) -> dict[str, str]:
    """The protocol's ``get``: credentials for ``server_raw`` or :class:`HelperError`."""
    from reactor_ci.errors import ReactorCIError

    server = normalize_server(server_raw)
    if not server:
        raise HelperError(NOT_FOUND, "get: no server on stdin")
    try:
        creds = _load()
    except ReactorCIError as exc:
        raise HelperError(f"reactor-ci: {exc.message}", f"get {server}: {exc}") from None
    if creds is None:
        from reactor_ci.credentials import default_path

        raise HelperError(
            NOT_FOUND,
            f"get {server}: no Reactor credentials at {default_path()}; docker will push ANONYMOUSLY "
            "and fail with 'denied'. fix: run `reactor-ci login` (REACTOR_API_KEY set) in this job/home",
        )
    if server != creds.registry_host.lower():
        raise HelperError(NOT_FOUND, f"get {server}: not the Reactor registry ({creds.registry_host})")

    from reactor_ci.session import Session

    session = Session(warn=lambda message: log(f"get {server}: warning: {message}"))
    if session.needs_refresh(creds):
        left = creds.seconds_left()
        log(f"get {server}: token has {left:.0f}s left, refreshing")
        if left > 0 and not os.environ.get(_RETRY_BUDGET_ENV):
            # The current token still works: if the API is down, fall back to it
            # after a short wait (like the ECR helper) instead of holding every
            # docker/BuildKit auth callback for the API client's full minute.
            from reactor_ci.api import ReactorAPI

            session = Session(
                api=ReactorAPI(retry_budget=_FALLBACK_BUDGET),
                warn=lambda message: log(f"get {server}: warning: {message}"),
            )
        try:
            creds = session.fresh()
        except ReactorCIError as exc:
            raise HelperError(
                f"reactor-ci: {exc.message}" + (f" (fix: {exc.fix})" if exc.fix else ""),
                f"get {server}: refresh FAILED, docker will fall back to anonymous and report 'denied': {exc}",
            ) from None
        log(f"get {server}: serving a token with {creds.seconds_left():.0f}s left")
    else:
        log(f"get {server}: cached token, {creds.seconds_left():.0f}s left")
    return {
        "ServerURL": server_raw.strip() or server,
        "Username": creds.docker_username,
        "Secret": creds.registry_token,
    }


def list_() -> dict[str, str]:
    from reactor_ci.errors import ReactorCIError

    try:
        creds = _load()
    except ReactorCIError as exc:
        log(f"list: {exc}")
        return {}
    if creds is None:
        return {}
    return {creds.registry_host: creds.docker_username}


def _version() -> str:
    from reactor_ci import __version__

    return f"docker-credential-reactor (reactor-ci) {__version__}"


def run(action: str) -> tuple[int, str]:
    """Run one protocol action; return (exit code, stdout text). Pure enough to test in-process."""
    import json

    if action == "get":
        try:
            answer = get(_read_stdin())
        except HelperError as exc:
            log(exc.detail)
            return 1, exc.message
        return 0, json.dumps(answer)
    if action == "store":
        # `docker login` calls store; the secret it hands us is whatever the
        # user typed. The Reactor credentials file is the only store, so we
        # accept and drop it: a secret must never land anywhere else.
        payload = _read_stdin()
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        server = str(data.get("ServerURL", "")) if isinstance(data, dict) else ""
        log(f"store {normalize_server(server)}: ignored (reactor-ci manages this registry's credentials)")
        return 0, ""
    if action == "erase":
        # Idempotent: `docker logout` may call it twice. Logging out of Reactor
        # is `reactor-ci logout`; docker's logout only forgets its own entry.
        log(f"erase {normalize_server(_read_stdin())}: nothing stored, ok")
        return 0, ""
    if action == "list":
        return 0, json.dumps(list_())
    if action == "version":
        return 0, _version()
    return 1, USAGE


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    action = args[0] if args else ""
    try:
        code, text = run(action)
    except Exception as exc:  # the protocol wants a message on stdout, never a traceback
        from reactor_ci.redact import scrub

        log(f"{action}: unexpected {exc.__class__.__name__}: {exc}")
        code, text = 1, scrub(f"reactor-ci helper failed: {exc.__class__.__name__}: {exc}")
    if text:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
