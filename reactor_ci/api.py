"""The Reactor API client: the ONLY module that knows paths and field names.

Documented: ``POST /tokens`` and the ``Reactor-API-Key`` header, and (by
reactor-sdk 1.13's ``fetch_jwt``) its scoped body: ``authorization_details``
(RFC 9396), JSON ``null`` when there is nothing to ask. Assumed (the
partner wire format is not public, see reactor-api.md): ``GET /v1/partner``,
``POST /v1/registry/token`` and the error body shape. A change of path or
field name is a one-line fix in the constants below.

No exchange can hang or flood us (9.1): every attempt has a TOTAL deadline
(connect + headers + body), enforced by a watchdog that shuts the socket down
when it passes, so a server dripping one byte a second fails at the deadline,
not per read; every body is streamed and refused past :data:`MAX_BODY`. 429,
5xx and connection errors are retried with exponential backoff and jitter
(``Retry-After`` honoured), and the whole call -- every attempt and every wait
-- ends by one deadline. 401/403 are never retried.

Every answer is untrusted: fields are type-, size- and range-checked, registry
names must belong to Reactor (``*.reactor.inc`` or ``REACTOR_CI_REGISTRY_HOSTS``),
and a token that is already dead is refused (exit 4). ``HTTPS_PROXY``/
``NO_PROXY`` are honoured for https; plain http (loopback only) never goes
through a proxy, which would see the key in clear. Secrets the API returns
are registered for redaction before this module hands them out.
"""

from __future__ import annotations

import json as jsonlib
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reactor_ci import redact, settings, transport
from reactor_ci.errors import AuthError, NetworkError, ReactorCIError, UsageError
from reactor_ci.keys import ApiKey
from reactor_ci.timeutil import parse_time

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.reactor.inc"
ENV_API_URL = "REACTOR_API_URL"
ENV_ATTEMPTS = settings.RETRY_ATTEMPTS
ENV_RETRY_BUDGET = settings.RETRY_MAX_SECONDS
ENV_TIMEOUT = settings.HTTP_TIMEOUT

HEADER_KEY = "Reactor-API-Key"
PATH_PARTNER = "/v1/partner"
PATH_REGISTRY_TOKEN = "/v1/registry/token"
PATH_TOKENS = "/tokens"
APP_TOKEN_CEILING = 6 * 3600

# The scoped /tokens body, as reactor-sdk 1.13's fetch_jwt builds it (RFC 9396
# authorization details). The JWT carries what was granted under the same
# name (RFC 9396 section 9.1) -- when the server states it at all.
FIELD_AUTHORIZATION_DETAILS = "authorization_details"
SCOPE_TYPE = "session"
#: Documented range of ``max_session_duration_seconds``: outside it the mint is rejected, never clamped.
SESSION_DURATION_RANGE = (1, 24 * 3600)

USER_AGENT = "reactor-ci/0.1"
MAX_BODY = transport.MAX_BODY
# Server strings we store or print (partner id, username, token, JWT).
_MAX_FIELD = 8192

# The documented troubleshooting table: code -> (exception class, message, fix).
_ERRORS: dict[str, tuple[type[ReactorCIError], str, str]] = {
    "invalid_api_key": (
        AuthError,
        "the Reactor API rejected the key as invalid",
        "verify the key in the Reactor Dashboard and update the CI secret; partner keys start with rp_, "
        "app keys with rk_.",
    ),
    "api_key_expired": (
        AuthError,
        "the key has expired",
        "generate a new key in the Reactor Dashboard, update the CI secret, and log in again.",
    ),
    "api_key_revoked": (
        AuthError,
        "the key was revoked by an organisation admin",
        "generate a new key in the Reactor Dashboard, update the CI secret, and log in again.",
    ),
    "wrong_key_type": (
        AuthError,
        "the API refused the key for this call (wrong key kind)",
        "registry login needs a partner key (rp_…); JWTs are minted from an app key (rk_…).",
    ),
}


@dataclass(frozen=True)
class Partner:
    partner_id: str
    registry: str


@dataclass(frozen=True)
class RegistryToken:
    registry: str
    username: str
    token: str
    expiry: datetime

    def __repr__(self) -> str:
        return f"RegistryToken(registry={self.registry!r}, username={self.username!r}, token=***)"


@dataclass(frozen=True)
class TokenScope:
    """What a session-scoped JWT may do, in reactor-sdk ``fetch_jwt``'s terms.

    ``models`` None: every model (``{"all": true}``); ``sessions`` None: no
    bind. The constraints are None when not set. :meth:`details` is the
    ``authorization_details`` value, built exactly as the SDK builds it.
    """

    models: tuple[str, ...] | None = None
    sessions: tuple[str, ...] | None = None
    max_sessions: int | None = None
    max_session_duration_seconds: int | None = None

    def details(self) -> list[dict[str, Any]]:
        resources: dict[str, Any] = {
            "models": {"match": list(self.models)} if self.models is not None else {"all": True}
        }
        if self.sessions is not None:
            resources["sessions"] = {"bind": list(self.sessions)}
        detail: dict[str, Any] = {"type": SCOPE_TYPE, "resources": resources}
        constraints: dict[str, Any] = {}
        if self.max_sessions is not None:
            constraints["max_sessions"] = self.max_sessions
        if self.max_session_duration_seconds is not None:
            constraints["max_session_duration_seconds"] = self.max_session_duration_seconds
        if constraints:
            detail["constraints"] = constraints
        return [detail]


def token_request_body(
    *,
    models: list[str] | tuple[str, ...] | None = None,
    sessions: list[str] | tuple[str, ...] | None = None,
    max_sessions: int | None = None,
    max_session_duration_seconds: int | None = None,
    expires_after: int | None = None,
) -> dict[str, Any] | None:
    """The ``POST /tokens`` body for fetch_jwt's options; None stands for JSON ``null``.

    Mirrors reactor-sdk 1.13 ``fetch_jwt`` key for key (tests/test_tokens_sdk_identity.py
    proves it on the wire): a scope only when models or sessions are given (the
    ``max_*`` constraints are dropped without one, as the server would ignore
    them), and ``null`` -- not ``{}`` -- when there is nothing to ask.
    """
    body: dict[str, Any] = {}
    if models is not None or sessions is not None:
        scope = TokenScope(
            tuple(models) if models is not None else None,
            tuple(sessions) if sessions is not None else None,
            max_sessions,
            max_session_duration_seconds,
        )
        body[FIELD_AUTHORIZATION_DETAILS] = scope.details()
    if expires_after is not None:
        body["expires_after"] = int(expires_after)
    return body or None


@dataclass(frozen=True)
class AppToken:
    jwt: str
    expires_at: int
    #: The scope the JWT's claims state (untrusted, for reporting only); None: none stated.
    scope: TokenScope | None = None
    #: The claims carry authorization_details reactor-ci could not read (reported, never guessed).
    scope_unreadable: bool = False

    def __repr__(self) -> str:
        return f"AppToken(jwt=***, expires_at={self.expires_at}, scope={self.scope!r})"


class _Retryable(Exception):
    def __init__(self, error: ReactorCIError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def api_url_from_env(env: dict[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return environ.get(ENV_API_URL, "").strip() or DEFAULT_API_URL


def validate_base_url(url: str) -> str:
    """Accept https anywhere, plain http only on loopback (the emulator)."""
    fix = f"set {ENV_API_URL} to an https:// URL (plain http is allowed only for 127.0.0.1/localhost)."
    if len(url) > 2048 or not url.isprintable():
        raise UsageError(f"{ENV_API_URL} is not a single printable URL", fix, code="bad_url")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"{ENV_API_URL} is not a valid URL", fix, code="bad_url") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise UsageError(f"{ENV_API_URL} is not an http(s) URL", fix, code="bad_url")
    if parts.username or parts.password or "@" in parts.netloc:
        raise UsageError(f"{ENV_API_URL} must not carry credentials", fix, code="bad_url")
    if not settings.registry_host_ok(parts.netloc.lower()):
        raise UsageError(f"{ENV_API_URL} does not name a valid host[:port]", fix, code="bad_url")
    if parts.query or parts.fragment:
        raise UsageError(f"{ENV_API_URL} must not have a query or fragment", fix, code="bad_url")
    if parts.scheme == "http" and not settings.url_is_loopback(url):
        raise UsageError(
            f"{ENV_API_URL} uses plain http to a non-loopback host: the key would travel in clear",
            fix,
            code="bad_url",
        )
    return url.rstrip("/")


def registry_agreement(partner: Partner, token: RegistryToken) -> None:
    """The two registry answers must name the same registry (9.2); exit 4 naming both."""
    if not settings.same_registry_host(partner.registry, token.registry):
        raise NetworkError(
            f"the Reactor API named two different registries: {PATH_PARTNER} said "
            f"{partner.registry!r}, {PATH_REGISTRY_TOKEN} said {token.registry!r}; refusing to use the token",
            f"check that {ENV_API_URL} points at the Reactor API (a proxy may be rewriting answers); "
            "report it to Reactor support if it persists.",
            code="registry_mismatch",
        )


class ReactorAPI:
    """A small typed client. One instance per command; cheap to create.

    ``deadline`` (a :func:`time.monotonic` instant) caps every call made through
    this client: the credential helper passes its own, so its worst case is bounded.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
        retry_budget: float | None = None,
        deadline: float | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = validate_base_url(base_url or api_url_from_env())
        # The first retry's wait in seconds (then doubling, at most 8 s, plus up to 0.5 s of jitter
        # at the default); a test of what is retried passes a tiny one to take milliseconds.
        self.backoff = backoff
        self.timeout = timeout if timeout is not None else settings.get(ENV_TIMEOUT)
        attempts = max_attempts if max_attempts is not None else settings.get(ENV_ATTEMPTS)
        self.max_attempts = max(1, int(attempts))
        self.retry_budget = retry_budget if retry_budget is not None else settings.get(ENV_RETRY_BUDGET)
        self.deadline = deadline
        settings.check_registry_hosts()
        self._transport = transport
        self._client: httpx.Client | None = None

    # -- public calls ------------------------------------------------------------
    def get_partner(self, key: ApiKey) -> Partner:
        data = self._call("GET", PATH_PARTNER, key)
        partner_id = _field(data, "partner_id", PATH_PARTNER)
        registry = _registry(data, PATH_PARTNER)
        return Partner(partner_id=partner_id, registry=registry)

    def create_registry_token(self, key: ApiKey) -> RegistryToken:
        data = self._call("POST", PATH_REGISTRY_TOKEN, key, json={})
        token = _field(data, "registry_token", PATH_REGISTRY_TOKEN)
        redact.register(token)
        registry = _registry(data, PATH_REGISTRY_TOKEN)
        username = data.get("username") if isinstance(data.get("username"), str) else None
        if username is not None and (len(username) > 256 or not username.isprintable() or not username.strip()):
            raise _bad_answer(PATH_REGISTRY_TOKEN, "the field 'username' is not a printable name")
        if not username:
            partner_id = data.get("partner_id")
            username = partner_id if isinstance(partner_id, str) and partner_id.strip() else None
            username = username or registry.split("/", 1)[-1]
        username = username.strip()
        redact.register_basic_auth(username, token)
        try:
            expiry = parse_time(data.get("registry_token_expiry"), "registry_token_expiry")
        except ValueError as exc:
            raise _bad_answer(PATH_REGISTRY_TOKEN, f"{exc} (missing, malformed or out of range)") from None
        if expiry.timestamp() <= time.time():
            raise NetworkError(
                f"the Reactor API issued a registry token that is already expired "
                f"(registry_token_expiry {expiry.strftime('%Y-%m-%dT%H:%M:%SZ')})",
                "check this machine's clock (`date -u`); if it is right, retry later and report it to Reactor "
                "support if it persists.",
                code="dead_token",
            )
        return RegistryToken(registry=registry, username=username, token=token, expiry=expiry)

    def create_app_token(
        self,
        key: ApiKey,
        expires_after: int | None = None,
        *,
        models: list[str] | tuple[str, ...] | None = None,
        sessions: list[str] | tuple[str, ...] | None = None,
        max_sessions: int | None = None,
        max_session_duration_seconds: int | None = None,
    ) -> AppToken:
        """``POST /tokens`` with reactor-sdk 1.13 ``fetch_jwt``'s options (see :func:`token_request_body`)."""
        body = token_request_body(
            models=models,
            sessions=sessions,
            max_sessions=max_sessions,
            max_session_duration_seconds=max_session_duration_seconds,
            expires_after=expires_after,
        )
        data = self._call("POST", PATH_TOKENS, key, json=body if body is not None else _NULL)
        jwt = _field(data, "jwt", PATH_TOKENS)
        redact.register(jwt)
        expires_at = data.get("expires_at")
        if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
            raise _bad_answer(PATH_TOKENS, "expires_at is missing or not a number")
        try:
            parse_time(expires_at, "expires_at")
        except ValueError as exc:
            raise _bad_answer(PATH_TOKENS, str(exc)) from None
        if expires_at <= time.time():
            raise NetworkError(
                f"the Reactor API issued a JWT that is already expired (expires_at {int(expires_at)})",
                "check this machine's clock (`date -u`); if it is right, retry later and report it to Reactor "
                "support if it persists.",
                code="dead_token",
            )
        try:
            scope = claimed_scope(jwt)
        except ValueError:
            return AppToken(jwt=jwt, expires_at=int(expires_at), scope_unreadable=True)
        return AppToken(jwt=jwt, expires_at=int(expires_at), scope=scope)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> ReactorAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx  # lazy: `status` and the helper's cached path never need it

            from reactor_ci import proxy

            # A fresh connection per request: the watchdog learns each socket
            # as it connects, so no attempt can run on an unwatched one.
            limits = httpx.Limits(max_keepalive_connections=0)
            self._client = httpx.Client(
                base_url=self.base_url,
                # The proxy is parsed by reactor_ci.proxy, never by httpx (an
                # unencoded password crashed httpx's URL parser, printing it).
                transport=self._transport or proxy.transport(self.base_url, limits=limits),
                # identity: the body cap counts what we parse; a compressed answer
                # (a gzip bomb) could expand far past it in one decoded chunk.
                headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity"},
                follow_redirects=False,
                trust_env=False,  # the transport has the proxy and the CA settings
                limits=limits,
            )
        return self._client

    def _call(self, method: str, path: str, key: ApiKey, json: dict[str, Any] | _Null | None = None) -> dict[str, Any]:
        from tenacity import RetryCallState, Retrying, wait_exponential, wait_random

        backoff = wait_exponential(multiplier=self.backoff, max=16 * self.backoff) + wait_random(0, self.backoff)
        started = time.monotonic()
        # One deadline for the whole call: every attempt and every wait ends by it.
        deadline = started + max(self.retry_budget, self.timeout)
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise _Retryable(self._timeout_error(time.monotonic() - started))
                return self._once(method, path, key, json, min(self.timeout, remaining))
            except _Retryable as exc:
                state = RetryCallState(Retrying(), None, (), {})
                state.attempt_number = attempt
                pause = exc.retry_after if exc.retry_after is not None else float(backoff(state))
                left = deadline - time.monotonic()
                if attempt >= self.max_attempts or left <= 0 or pause >= left:
                    err, elapsed = exc.error, time.monotonic() - started
                    err.message = f"{err.message} (gave up after {attempt} attempts, {elapsed:.0f}s)"
                    raise err from None
                time.sleep(max(0.0, pause))

    def _once(
        self, method: str, path: str, key: ApiKey, json: dict[str, Any] | _Null | None, seconds: float
    ) -> dict[str, Any]:
        sent = {HEADER_KEY: key.secret}
        content = None
        if isinstance(json, _Null):
            # httpx reads json=None as "no body"; the coordinator wants a JSON null.
            json, content = None, b"null"
            sent["Content-Type"] = "application/json"
        try:
            status, headers, body = transport.exchange(
                self._http(), method, path, json=json, content=content, headers=sent, seconds=seconds
            )
        except transport.DeadlinePassed:
            raise _Retryable(self._timeout_error(seconds)) from None
        except transport.TooLarge as exc:
            raise _bad_answer(path, str(exc)) from None
        except transport.Unreachable as exc:
            raise _Retryable(
                NetworkError(
                    f"cannot reach the Reactor API at {self.base_url} ({exc})",
                    f"check {ENV_API_URL}, the network, and the proxy settings (HTTPS_PROXY/NO_PROXY).",
                    code="unreachable",
                )
            ) from None
        return self._handle(status, headers, body, path)

    def _timeout_error(self, seconds: float) -> NetworkError:
        return NetworkError(
            f"the Reactor API at {self.base_url} did not finish answering within {seconds:.0f}s (the deadline)",
            f"check the network or proxy (HTTPS_PROXY/NO_PROXY); raise {ENV_TIMEOUT} or {ENV_RETRY_BUDGET} "
            "if the link is slow.",
            code="timeout",
        )

    def _handle(self, status: int, headers: httpx.Headers, body: bytes, path: str) -> dict[str, Any]:
        data = _json_object(body)
        if 200 <= status < 300:
            if data is None:
                ctype = str(headers.get("content-type", "no content type")).split(";")[0][:60]
                raise _bad_answer(path, f"status {status} but the body is not a JSON object ({ctype})")
            return data
        code, message = _error_fields(data)
        detail = f": {redact.scrub(message)[:200]}" if message else ""
        if status == 429:
            raise _Retryable(
                NetworkError(
                    f"the Reactor API is rate limiting this client (429){detail}",
                    "wait and retry later; reduce parallel jobs sharing one key.",
                    code="rate_limited",
                ),
                retry_after=transport.retry_after(headers),
            )
        if status >= 500:
            raise _Retryable(
                NetworkError(
                    f"the Reactor API failed with HTTP {status} on {path}",
                    "a transient server error: retry the job later; check Reactor's status page if it persists.",
                    code="server_error",
                ),
                retry_after=transport.retry_after(headers),
            )
        if code in _ERRORS:
            cls, text, fix = _ERRORS[code]
            raise cls(f"{text} (HTTP {status} {code})", fix, code=code)
        if status in (401, 403):
            raise AuthError(
                f"the Reactor API refused the key (HTTP {status}{', ' + code if code else ''}){detail}",
                "verify the key in the Reactor Dashboard and update the CI secret.",
                code=code or "unauthorized",
            )
        if status == 400:
            raise UsageError(
                f"the Reactor API rejected the request (HTTP 400{', ' + code if code else ''}){detail}",
                "check the arguments: a bound --session must be an open session of this key's user and "
                "organisation; --expires-after must be a positive number of seconds."
                if path == PATH_TOKENS
                else "check the arguments.",
                code=code or "bad_request",
            )
        raise NetworkError(
            f"unexpected HTTP {status} from the Reactor API on {path}{detail}",
            f"check that {ENV_API_URL} ({self.base_url}) points at the Reactor API.",
            code=code or "unexpected_status",
        )


class _Null:
    """A JSON ``null`` request body (``None`` already means "no body")."""


_NULL = _Null()

# Bounds of a scope read back from a JWT's claims: far above any real scope, far
# below what could flood a log.
_MAX_SCOPE_ITEMS = 100
_MAX_SCOPE_NAME = 200
_MAX_SCOPE_INT = 2**31 - 1


def jwt_claims(jwt: str) -> dict[str, Any]:
    """The UNVERIFIED claims of a JWT (its middle segment); raise ValueError if it has none.

    For reporting only: nothing reactor-ci decides ever rests on them (we hold
    no key to verify them with).
    """
    import base64
    import binascii

    parts = jwt.split(".")
    if len(parts) != 3 or len(parts[1]) > _MAX_FIELD:
        raise ValueError("not a JWT")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("the claims are not base64url") from None
    claims = _json_object(raw)
    if claims is None:
        raise ValueError("the claims are not a JSON object")
    return claims


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > _MAX_SCOPE_ITEMS:
        raise ValueError(f"{what} is not a list of at most {_MAX_SCOPE_ITEMS} names")
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= _MAX_SCOPE_NAME or not item.isprintable():
            raise ValueError(f"{what} holds something other than a short printable name")
    return tuple(value)


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SCOPE_INT:
        raise ValueError(f"{what} is not a whole number")
    return value


def scope_from_details(details: Any) -> TokenScope:
    """The :class:`TokenScope` of an ``authorization_details`` value; ValueError unless it is one we know.

    Strict and bounded: one detail of type ``session``, only the fields the
    SDK sends, names short and printable. Anything else is "unreadable",
    never a guess.
    """
    if not isinstance(details, list) or len(details) != 1 or not isinstance(details[0], dict):
        raise ValueError("not exactly one authorization detail")
    detail = details[0]
    if detail.get("type") != SCOPE_TYPE or set(detail) - {"type", "resources", "constraints"}:
        raise ValueError("not a session detail")
    resources, constraints = detail.get("resources"), detail.get("constraints", {})
    if not isinstance(resources, dict) or set(resources) - {"models", "sessions"} or not isinstance(constraints, dict):
        raise ValueError("unknown resources")
    if set(constraints) - {"max_sessions", "max_session_duration_seconds"}:
        raise ValueError("unknown constraints")
    models_field = resources.get("models")
    if isinstance(models_field, dict) and set(models_field) == {"all"} and models_field["all"] is True:
        models = None
    elif isinstance(models_field, dict) and set(models_field) == {"match"}:
        models = _names(models_field["match"], "models")
    else:
        raise ValueError("no model scope")
    sessions_field = resources.get("sessions")
    sessions = None
    if sessions_field is not None:
        if not isinstance(sessions_field, dict) or set(sessions_field) != {"bind"}:
            raise ValueError("unknown session resource")
        sessions = _names(sessions_field["bind"], "sessions")
    return TokenScope(
        models,
        sessions,
        _count(constraints.get("max_sessions"), "max_sessions"),
        _count(constraints.get("max_session_duration_seconds"), "max_session_duration_seconds"),
    )


def claimed_scope(jwt: str) -> TokenScope | None:
    """The scope a JWT's claims state (None: none); ValueError when they state one we cannot read."""
    try:
        claims = jwt_claims(jwt)
    except ValueError:
        return None  # an opaque token states nothing; that is not an error
    if FIELD_AUTHORIZATION_DETAILS not in claims:
        return None
    return scope_from_details(claims[FIELD_AUTHORIZATION_DETAILS])


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = jsonlib.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        # RecursionError: nesting past the parser's depth; ValueError covers
        # bad UTF-8, NaN/Infinity and integers past Python's digit limit.
        return None
    return data if isinstance(data, dict) else None


def _error_fields(data: dict[str, Any] | None) -> tuple[str, str]:
    if not data:
        return "", ""
    err = data.get("error")
    if isinstance(err, dict):
        code, message = err.get("code"), err.get("message")
    elif isinstance(err, str):
        code, message = err, data.get("message")
    else:
        return "", ""
    code_text = code if isinstance(code, str) and len(code) <= 64 and code.isprintable() else ""
    return code_text, message if isinstance(message, str) else ""


def _field(data: dict[str, Any], name: str, path: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad_answer(path, f"the field {name!r} is missing or empty")
    if len(value) > _MAX_FIELD or not value.strip().isprintable():
        raise _bad_answer(path, f"the field {name!r} is too long or holds control characters")
    return value.strip()


def _registry(data: dict[str, Any], path: str) -> str:
    """The answer's ``registry``: well-formed, and a Reactor registry host (9.2)."""
    value = _field(data, "registry", path)
    parts = settings.split_registry(value)
    if parts is None:
        raise _bad_answer(path, "the field 'registry' is not a registry name (host[:port]/namespace)")
    host = parts[0]
    if not settings.registry_allowed(host):
        raise NetworkError(
            f"the Reactor API on {path} named the registry host {host!r}, which is not a Reactor registry; "
            "refusing to hand it a Reactor token",
            f"Reactor registries are under *.{settings.REACTOR_DOMAIN}; for a staging registry or the emulator, "
            f"list the host in {settings.REGISTRY_HOSTS} (comma-separated host[:port]). Otherwise check "
            f"{ENV_API_URL}: something other than Reactor is answering.",
            code="foreign_registry",
        )
    return value


def _bad_answer(path: str, why: str) -> NetworkError:
    return NetworkError(
        f"the Reactor API gave an unusable answer on {path}: {why}",
        f"check that {ENV_API_URL} points at the Reactor API (a proxy or captive portal may be answering); "
        "retry later if it persists.",
        code="bad_answer",
    )
