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
import stat
import sys
import time

# Not `from typing import TYPE_CHECKING`: typing alone costs ~4 ms of start-up,
# a third of a bare interpreter's. mypy honours this spelling too.
TYPE_CHECKING = False
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
    """``$REACTOR_CI_HELPER_LOG``, else beside the credentials file.

    Beside the credentials means job-scoped credentials (``REACTOR_CREDENTIALS``
    under the CI's temp dir) get a job-scoped log too: nothing lands in HOME.
    """
    configured = os.environ.get(LOG_ENV, "").strip()
    if configured:
        return os.path.expanduser(configured)
    credentials = os.environ.get("REACTOR_CREDENTIALS", "").strip()
    if credentials:
        return os.path.join(os.path.dirname(os.path.expanduser(credentials)) or ".", "helper.log")
    return os.path.join(os.path.expanduser("~"), ".reactor", "helper.log")


def log(message: str, *, scrub: bool = True) -> None:
    """Append one scrubbed line to the helper log; never raise (a log must not break a push).

    ``scrub=False`` only for lines built from non-secret values (host, seconds):
    it spares the fast path the redaction module's imports.
    """
    try:
        if scrub:
            from reactor_ci.redact import scrub as scrubber

            message = scrubber(message)
        path = log_path()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} pid={os.getpid()} {message}".replace("\n", " | ")
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


# -- the fast path -------------------------------------------------------------
# `get` with a fresh cached token is >99% of calls. Importing
# reactor_ci.credentials + session (dataclasses, datetime, pathlib, tempfile,
# typing) triples a bare interpreter's start-up in a clean venv, so this path
# reads the file with json alone and answers ONLY when the token is clearly
# fresh by the session's rule; anything else (expiring, odd file mode, symlink,
# other time format, bad env value) goes to the full path, which decides and
# reports. tests/test_docker_units.py checks this agrees with Session.needs_refresh.
_DEFAULT_TOKEN_LIFETIME = 12 * 3600.0  # reactor_ci.credentials.DEFAULT_TOKEN_LIFETIME
_DEFAULT_MIN_LIFETIME = 3600.0  # reactor_ci.session.DEFAULT_MIN_LIFETIME
_MIN_LIFETIME_ENV = "REACTOR_CI_MIN_TOKEN_LIFETIME"
_CREDENTIALS_ENV = "REACTOR_CREDENTIALS"
_REQUIRED = ("api_key", "partner_id", "registry", "registry_token", "registry_token_expiry")


def loads(text: str) -> object:
    """``json.loads`` without importing :mod:`json`, whose decoder imports :mod:`re`
    (+ enum, functools: ~8 ms, more than half a bare interpreter's start-up).

    It drives the very C scanner ``json.loads`` uses (``_json.make_scanner``);
    on an interpreter without it (PyPy), it is plain ``json.loads``. Raises
    ValueError/StopIteration on bad input, like the scanner.
    """
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - CPython always has it
        import json

        return json.loads(text)
    scan = make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed, as JSONDecoder does
    stripped = text.strip(" \t\n\r")
    value, end = scan(stripped, 0)
    if end != len(stripped):
        raise ValueError("extra data after the JSON value")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


class _ScanContext:
    # The attributes json.decoder.JSONDecoder hands the C scanner, with strict
    # parsing and no NaN/Infinity (json.loads would accept those; we refuse).
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constant)


def dumps(value: dict[str, str]) -> str:
    """``json.dumps`` of a flat ``{str: str}`` through the C string encoder (no :mod:`re`)."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(value)
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in value.items()) + "}"


def _epoch(value: object) -> float | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (or ``+00:00``) -> epoch seconds; None for any other shape."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    if len(text) != 20 or text[19] not in "Zz" or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # Days since 1970-01-01 for the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + hour * 3600 + minute * 60 + second)


def _min_lifetime() -> float | None:
    raw = os.environ.get(_MIN_LIFETIME_ENV, "").strip()
    if not raw:
        return _DEFAULT_MIN_LIFETIME
    try:
        value = float(raw)
    except ValueError:
        return None  # the full path reports the bad value
    return value if value >= 0 else None


def fast_decision(data: object, server: str, now: float) -> tuple[str, dict[str, str] | None, float]:
    """("serve", answer, left) / ("other-host", None, 0) / ("slow", None, 0) for parsed file ``data``."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in _REQUIRED):
        return "slow", None, 0.0
    host = str(data["registry"]).split("/", 1)[0]
    if server != host.lower():
        return "other-host", None, 0.0
    expiry = _epoch(data["registry_token_expiry"])
    minimum = _min_lifetime()
    if expiry is None or minimum is None:
        return "slow", None, 0.0
    lifetime = _DEFAULT_TOKEN_LIFETIME
    issued_raw = data.get("registry_token_issued_at")
    if issued_raw:
        issued = _epoch(issued_raw)
        if issued is None:
            return "slow", None, 0.0
        if expiry - issued > 0:
            lifetime = expiry - issued
    left = expiry - now
    if left < max(lifetime / 2, minimum):
        return "slow", None, 0.0
    username = data.get("registry_username")
    user = username if isinstance(username, str) and username else str(data["partner_id"])
    return "serve", {"Username": user, "Secret": str(data["registry_token"])}, left


def _fast_get(server: str) -> tuple[str, dict[str, str] | None, float]:
    configured = os.environ.get(_CREDENTIALS_ENV, "").strip()
    path = (
        os.path.expanduser(configured)
        if configured
        else os.path.join(os.path.expanduser("~"), ".reactor", "credentials")
    )
    try:
        info = os.lstat(path)
        # Symlinks, non-regular files and loose modes are the full path's to refuse/fix.
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            return "slow", None, 0.0
        with open(path, "rb") as handle:
            raw = handle.read()
        data = loads(raw.decode("utf-8"))
    except (OSError, ValueError, StopIteration):
        return "slow", None, 0.0
    return fast_decision(data, server, time.time())


def _load() -> Credentials | None:
    from reactor_ci.credentials import CredentialsStore

    return CredentialsStore().load()


def get(server_raw: str) -> dict[str, str]:
    """The protocol's ``get``: credentials for ``server_raw`` or :class:`HelperError`."""
    server = normalize_server(server_raw)
    if not server:
        raise HelperError(NOT_FOUND, "get: no server on stdin")
    verdict, answer, left = _fast_get(server)
    if verdict == "serve" and answer is not None:
        log(f"get {server}: cached token, {left:.0f}s left", scrub=False)
        return {"ServerURL": server_raw.strip() or server, **answer}
    if verdict == "other-host":
        raise HelperError(NOT_FOUND, f"get {server}: not the Reactor registry")
    from reactor_ci.errors import ReactorCIError

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
    if action == "get":
        try:
            answer = get(_read_stdin())
        except HelperError as exc:
            log(exc.detail)
            return 1, exc.message
        return 0, dumps(answer)
    if action == "store":
        # `docker login` calls store; the secret it hands us is whatever the
        # user typed. The Reactor credentials file is the only store, so we
        # accept and drop it: a secret must never land anywhere else.
        payload = _read_stdin()
        import json

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
        return 0, dumps(list_())
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
