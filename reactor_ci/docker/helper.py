"""``docker-credential-reactor``: the Docker credential helper protocol.

Docker (and skopeo, podman, crane, BuildKit) run ``docker-credential-reactor
ACTION`` with the server on stdin and read JSON from stdout. ``get`` hands out
the Reactor registry token, refreshed first when it is not fresh enough for a
push that is about to START: the engine never retries a 401 in the middle of a
push. The refresh rule lives in :mod:`reactor_ci.session`; the cached path in
:mod:`reactor_ci.docker.fastpath` mirrors it.

The shape follows docker-credential-helpers (``HandleCommand(helper, action,
in, out)``) and amazon-ecr-credential-helper:

* :func:`handle` is the protocol layer: it takes its streams, reads bounded
  input, writes only the answer, and maps failures to the protocol's exits;
* :class:`ReactorHelper` is the storage side: the fast path first, then ONE
  :class:`~reactor_ci.session.Session` for everything else.

Rules the protocol imposes: stdout carries only the answer; not found is
exactly ``credentials not found in native keychain`` + exit 1; any other
error is a message on stdout + exit 1. The docker CLI swallows helper errors
and pushes ANONYMOUSLY (a misleading ``denied`` later), so every failure is
logged with its fix to ``$REACTOR_CI_HELPER_LOG`` (default beside the
credentials file), never through a symlink, mode 0600.

Bounded (9.1): one ``get`` takes at most ``REACTOR_CI_HELPER_DEADLINE``
seconds (default 30): waiting for another process's refresh lock and the API
call both end by that deadline; past it the helper serves the current token
while it lives, else fails with the fix. See docs/docker.md.
"""

from __future__ import annotations

import os
import sys
import time

from reactor_ci import fastread, settings
from reactor_ci.docker import fastpath
from reactor_ci.errorboundary import guard

# Not `from typing import TYPE_CHECKING`: typing alone costs ~4 ms of start-up,
# a third of a bare interpreter's. mypy honours this spelling too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Protocol

    from reactor_ci.api import ReactorAPI
    from reactor_ci.credentials import Credentials

    class Helper(Protocol):
        def get(self, server_raw: str) -> dict[str, str]: ...
        def store(self, payload: str) -> None: ...
        def erase(self, server_raw: str) -> None: ...
        def list(self) -> dict[str, str]: ...


NOT_FOUND = "credentials not found in native keychain"
# docker-credential-helpers' answer to a request that names no server (credentials.Get/Erase).
MISSING_SERVER_URL = "no credentials server URL"
LOG_ENV = "REACTOR_CI_HELPER_LOG"
# Seconds of API retries before falling back to a still-valid token (the ECR
# helper's trade: a slow API must not hold every docker auth callback).
FALLBACK_BUDGET = 8.0
# What stdin may carry: a server URL, or `store`'s small JSON. Bound it.
MAX_STDIN = 64 * 1024
USAGE = "Usage: docker-credential-reactor <get|store|erase|list|version>"


class HelperError(Exception):
    """A failure to report on stdout (short) and in the log (with the fix)."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


# -- the log -------------------------------------------------------------------


def log_path() -> str | None:
    """``$REACTOR_CI_HELPER_LOG``, else beside the credentials file; None without a usable HOME.

    Beside the credentials means job-scoped credentials (``REACTOR_CREDENTIALS``
    under the CI's temp dir) get a job-scoped log too: nothing lands in HOME.
    """
    configured = os.environ.get(LOG_ENV, "").strip()
    if configured:
        return fastread.expand_home(configured)
    credentials = fastread.credentials_path()
    if credentials is None:
        return None
    return os.path.join(os.path.dirname(credentials) or ".", "helper.log")


def log(message: str, *, scrub: bool = True) -> None:
    """Append one scrubbed line to the helper log; never raise (a log must not break a push).

    ``scrub=False`` only for lines built from non-secret values (host, seconds):
    it spares the fast path the redaction module's imports. The file is opened
    with O_NOFOLLOW and must be a regular file: a planted symlink cannot make us
    append to (or create) anything else.
    """
    try:
        if scrub:
            from reactor_ci.redact import scrub as scrubber

            message = scrubber(message)
        path = log_path()
        if path is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} pid={os.getpid()} {message}".replace("\n", " | ").replace("\r", " ")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            from reactor_ci.fsutil import make_private_dirs

            make_private_dirs(os.path.dirname(path) or ".")
            fd = os.open(path, flags, 0o600)
        try:
            import stat

            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            os.write(fd, (line + "\n").encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception:  # noqa: S110 - logging is best effort by design
        pass


# -- input ---------------------------------------------------------------------


def normalize_server(raw: str) -> str:
    """``https://host:port/v2/`` -> ``host:port``; ``""`` for anything that is not a host.

    Clients differ in what they send; anything else (spaces, userinfo, a
    control character, 10 kB of garbage) is no server of ours.
    """
    server = raw.strip()
    for scheme in ("https://", "http://"):
        if server.lower().startswith(scheme):
            server = server[len(scheme) :]
            break
    host = server.split("/", 1)[0].lower()
    return host if settings.registry_host_ok(host) else ""


def _read(stream: IO[str] | None) -> str:
    if stream is None:  # `<&-`: Python gives no sys.stdin at all
        raise HelperError(MISSING_SERVER_URL, "stdin is closed: the request names no server")
    try:
        data = stream.read(MAX_STDIN + 1)
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    if len(data) > MAX_STDIN:
        raise HelperError(NOT_FOUND, f"stdin is over {MAX_STDIN} bytes; not a credential request")
    return data


# -- the storage side ----------------------------------------------------------


class ReactorHelper:
    """Answers the protocol's actions from the Reactor credentials file."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def get(self, server_raw: str) -> dict[str, str]:
        """Credentials for ``server_raw`` or :class:`HelperError`."""
        if not server_raw.strip():
            raise HelperError(MISSING_SERVER_URL, "get: no server on stdin")
        server = normalize_server(server_raw)
        if not server:
            raise HelperError(NOT_FOUND, "get: no valid server on stdin")
        verdict, answer, left, read = fastpath.fast_get(server, self._now())
        if verdict == fastpath.SERVE and answer is not None:
            log(f"get {server}: cached token, {left:.0f}s left", scrub=False)
            return {"ServerURL": server, **answer}
        if verdict == fastpath.OTHER_HOST:
            raise HelperError(NOT_FOUND, f"get {server}: not the Reactor registry")
        creds = self._slow_get(server, read)
        return {"ServerURL": server, "Username": creds.docker_username, "Secret": creds.registry_token}

    def _slow_get(self, server: str, read: object = None) -> Credentials:
        from reactor_ci.errors import ReactorCIError

        started = time.monotonic()
        try:
            deadline = started + settings.get(settings.HELPER_DEADLINE)
            return self._refresh_if_needed(server, deadline, read)
        except ReactorCIError as exc:
            raise HelperError(
                f"reactor-ci: {exc.message}" + (f" (fix: {exc.fix})" if exc.fix else ""),
                f"get {server}: refresh FAILED after {time.monotonic() - started:.1f}s, docker will fall back to "
                f"anonymous and report 'denied': {exc}",
            ) from None

    def _refresh_if_needed(self, server: str, deadline: float, read: object = None) -> Credentials:
        """The full path. A refreshing ``get`` reads the file TWICE: once here (or in the fast
        path, whose ``read`` it reuses after the store's checks of the path) and once under the
        refresh lock, which the single-flight protocol needs (another process may have
        refreshed while we waited). The rule is evaluated once here and once under the lock."""
        from reactor_ci.credentials import CredentialsStore
        from reactor_ci.session import Session

        store = CredentialsStore()
        creds = store.load(already_read=read)
        if creds is None:
            raise HelperError(
                NOT_FOUND,
                f"get {server}: no Reactor credentials at {store.path}; docker will push ANONYMOUSLY "
                "and fail with 'denied'. fix: run `reactor-ci login` (REACTOR_API_KEY set) in this job/home",
            )
        if server != fastread.registry_host(creds.registry):
            raise HelperError(NOT_FOUND, f"get {server}: not the Reactor registry ({creds.registry_host})")
        left = creds.seconds_left()
        # The current token still works: if the API is down, fall back to it after
        # a short wait instead of holding every docker/BuildKit callback.
        explicit = os.environ.get(settings.RETRY_MAX_SECONDS, "").strip()
        budget = settings.get(settings.RETRY_MAX_SECONDS) if explicit or left <= 0 else FALLBACK_BUDGET

        def api() -> ReactorAPI:
            from reactor_ci.api import ReactorAPI

            return ReactorAPI(retry_budget=budget, deadline=deadline)

        session = Session(store, api_factory=api, warn=lambda message: log(f"get {server}: warning: {message}"))
        if not session.needs_refresh(creds):
            log(f"get {server}: cached token, {left:.0f}s left")
            return creds
        log(f"get {server}: token has {left:.0f}s left, refreshing")
        # force: the rule was just evaluated; fresh() re-reads only under the lock.
        fresh = session.fresh(creds, force=True, lock_timeout=max(0.0, deadline - time.monotonic()))
        log(f"get {server}: serving a token with {fresh.seconds_left():.0f}s left")
        return fresh

    def store(self, payload: str) -> None:
        # `docker login` calls store; the secret it hands us is whatever the
        # user typed. The Reactor credentials file is the only store, so we
        # accept and drop it: a secret must never land anywhere else.
        server = ""
        try:
            data = fastread.loads(payload)
        except (ValueError, StopIteration, RecursionError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("ServerURL"), str):
            server = normalize_server(data["ServerURL"])
        log(f"store {server}: ignored (reactor-ci manages this registry's credentials)", scrub=False)

    def erase(self, server_raw: str) -> None:
        # Idempotent: `docker logout` may call it twice. Logging out of Reactor
        # is `reactor-ci logout`; docker's logout only forgets its own entry.
        log(f"erase {normalize_server(server_raw)}: nothing stored, ok", scrub=False)

    def list(self) -> dict[str, str]:
        from reactor_ci.credentials import CredentialsStore
        from reactor_ci.errors import ReactorCIError

        try:
            creds = CredentialsStore().load()
        except ReactorCIError as exc:
            log(f"list: {exc}")
            return {}
        return {} if creds is None else {creds.registry_host: creds.docker_username}


def version() -> str:
    from reactor_ci import __version__

    return f"docker-credential-reactor (reactor-ci) {__version__}"


# -- the protocol layer --------------------------------------------------------


def handle(helper: Helper, action: str, stdin: IO[str] | None, stdout: IO[str] | None) -> int:
    """Run one protocol action with the given streams; return the exit code. Never raises."""
    try:
        code, text = _dispatch(helper, action, stdin)
    except HelperError as exc:
        log(exc.detail)
        code, text = 1, exc.message
    except Exception as exc:  # the protocol wants a message on stdout, never a traceback
        from reactor_ci.redact import scrub

        log(f"{action}: unexpected {exc.__class__.__name__}: {exc}")
        code, text = 1, scrub(f"reactor-ci helper failed: {exc.__class__.__name__}: {exc}")[:500]
    if text:
        if stdout is None:  # `>&-`: nowhere to answer
            return 1
        try:
            stdout.write(text + ("" if text.endswith("\n") else "\n"))
            stdout.flush()
        except (OSError, ValueError):
            return 1
    return code


def _dispatch(helper: Helper, action: str, stdin: IO[str] | None) -> tuple[int, str]:
    if action == "get":
        return 0, fastread.dumps(helper.get(_read(stdin)))
    if action == "store":
        helper.store(_read(stdin))
        return 0, ""
    if action == "erase":
        helper.erase(_read(stdin))
        return 0, ""
    if action == "list":
        return 0, fastread.dumps(helper.list())
    if action == "version":
        return 0, version()
    return 1, USAGE


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # handle() answers every failure in the protocol's way; the boundary catches what escapes it
    # (Ctrl-C, a closed pipe), as every entry point's does.
    return guard(lambda: handle(ReactorHelper(), args[0] if args else "", sys.stdin, sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
