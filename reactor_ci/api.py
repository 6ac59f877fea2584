"""The Reactor API client: the ONLY module that knows paths and field names.

Documented: ``POST /tokens`` and the ``Reactor-API-Key`` header. Assumed (the
partner wire format is not public, see reactor-api.md): ``GET /v1/partner``,
``POST /v1/registry/token`` and the error body shape. A change of path or
field name is a one-line fix in the constants below.

Every call has a timeout; 429, 5xx and connection errors are retried with
exponential backoff and jitter (``Retry-After`` honoured), bounded in count and
total time; 401/403 are never retried. ``HTTPS_PROXY``/``NO_PROXY`` are honoured
(httpx reads them). Secrets the API returns are registered for redaction
before this module hands them out.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reactor_ci import redact
from reactor_ci.credentials import parse_time
from reactor_ci.errors import AuthError, NetworkError, ReactorCIError, UsageError
from reactor_ci.fsutil import is_loopback_host
from reactor_ci.keys import ApiKey

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.reactor.inc"
ENV_API_URL = "REACTOR_API_URL"
ENV_ATTEMPTS = "REACTOR_CI_RETRY_ATTEMPTS"
ENV_RETRY_BUDGET = "REACTOR_CI_RETRY_MAX_SECONDS"
ENV_TIMEOUT = "REACTOR_CI_HTTP_TIMEOUT"

HEADER_KEY = "Reactor-API-Key"
PATH_PARTNER = "/v1/partner"
PATH_REGISTRY_TOKEN = "/v1/registry/token"
PATH_TOKENS = "/tokens"
APP_TOKEN_CEILING = 6 * 3600

USER_AGENT = "reactor-ci/0.1"

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
class AppToken:
    jwt: str
    expires_at: int

    def __repr__(self) -> str:
        return f"AppToken(jwt=***, expires_at={self.expires_at})"


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
    parts = urlsplit(url)
    fix = f"set {ENV_API_URL} to an https:// URL (plain http is allowed only for 127.0.0.1/localhost)."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{ENV_API_URL} is not an http(s) URL", fix, code="bad_url")
    if parts.username or parts.password:
        raise UsageError(f"{ENV_API_URL} must not carry credentials", fix, code="bad_url")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UsageError(
            f"{ENV_API_URL} uses plain http to a non-loopback host: the key would travel in clear",
            fix,
            code="bad_url",
        )
    return url.rstrip("/")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class ReactorAPI:
    """A small typed client. One instance per command; cheap to create."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
        retry_budget: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url or api_url_from_env())
        self.timeout = timeout if timeout is not None else _env_float(ENV_TIMEOUT, 15.0)
        self.max_attempts = max(1, int(max_attempts if max_attempts is not None else _env_float(ENV_ATTEMPTS, 5)))
        self.retry_budget = retry_budget if retry_budget is not None else _env_float(ENV_RETRY_BUDGET, 60.0)
        self._transport = transport
        self._client: httpx.Client | None = None

    # -- public calls ------------------------------------------------------------
    def get_partner(self, key: ApiKey) -> Partner:
        data = self._call("GET", PATH_PARTNER, key)
        partner_id = _field(data, "partner_id", PATH_PARTNER)
        registry = _field(data, "registry", PATH_PARTNER)
        return Partner(partner_id=partner_id, registry=registry)

    def create_registry_token(self, key: ApiKey) -> RegistryToken:
        data = self._call("POST", PATH_REGISTRY_TOKEN, key, json={})
        token = _field(data, "registry_token", PATH_REGISTRY_TOKEN)
        redact.register(token)
        registry = _field(data, "registry", PATH_REGISTRY_TOKEN)
        username = data.get("username") if isinstance(data.get("username"), str) else None
        if not username:
            username = str(data.get("partner_id") or "") or registry.split("/", 1)[-1]
        redact.register_basic_auth(username, token)
        try:
            expiry = parse_time(data.get("registry_token_expiry"), "registry_token_expiry")
        except ValueError:
            raise _bad_answer(PATH_REGISTRY_TOKEN, "registry_token_expiry is missing or not a time") from None
        return RegistryToken(registry=registry, username=username, token=token, expiry=expiry)

    def create_app_token(self, key: ApiKey, expires_after: int | None = None) -> AppToken:
        body: dict[str, Any] = {}
        if expires_after is not None:
            body["expires_after"] = int(expires_after)
        data = self._call("POST", PATH_TOKENS, key, json=body)
        jwt = _field(data, "jwt", PATH_TOKENS)
        redact.register(jwt)
        expires_at = data.get("expires_at")
        if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
            raise _bad_answer(PATH_TOKENS, "expires_at is missing or not a number")
        return AppToken(jwt=jwt, expires_at=int(expires_at))

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

            self._client = httpx.Client(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                transport=self._transport,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,
            )
        return self._client

    def _call(self, method: str, path: str, key: ApiKey, json: dict[str, Any] | None = None) -> dict[str, Any]:
        from tenacity import (
            RetryCallState,
            Retrying,
            retry_if_exception_type,
            stop_after_attempt,
            stop_after_delay,
            wait_exponential,
            wait_random,
        )

        backoff = wait_exponential(multiplier=0.5, max=8.0) + wait_random(0, 0.5)
        budget = self.retry_budget

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return max(0.0, min(exc.retry_after, budget))
            return float(backoff(state))

        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait,
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(budget),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, key, json)
        except _Retryable as exc:
            elapsed = time.monotonic() - started
            err = exc.error
            attempts = int(retrying.statistics.get("attempt_number", 1))
            err.message = f"{err.message} (gave up after {attempts} attempts, {elapsed:.0f}s)"
            raise err from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, key: ApiKey, json: dict[str, Any] | None) -> dict[str, Any]:
        import httpx

        client = self._http()
        try:
            response = client.request(method, path, json=json, headers={HEADER_KEY: key.secret})
        except httpx.TimeoutException as exc:
            raise _Retryable(
                NetworkError(
                    f"the Reactor API at {self.base_url} did not answer in time ({exc.__class__.__name__})",
                    f"check the network or proxy (HTTPS_PROXY/NO_PROXY); raise {ENV_TIMEOUT} if the link is slow.",
                    code="timeout",
                )
            ) from None
        except httpx.TransportError as exc:
            raise _Retryable(
                NetworkError(
                    f"cannot reach the Reactor API at {self.base_url} ({exc.__class__.__name__})",
                    f"check {ENV_API_URL}, the network, and the proxy settings (HTTPS_PROXY/NO_PROXY).",
                    code="unreachable",
                )
            ) from None
        return self._handle(response, path)

    def _handle(self, response: httpx.Response, path: str) -> dict[str, Any]:
        status = response.status_code
        data = _json_object(response)
        if 200 <= status < 300:
            if data is None:
                raise _bad_answer(path, f"status {status} but the body is not a JSON object ({_ctype(response)})")
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
                retry_after=_retry_after(response),
            )
        if status >= 500:
            raise _Retryable(
                NetworkError(
                    f"the Reactor API failed with HTTP {status} on {path}",
                    "a transient server error: retry the job later; check Reactor's status page if it persists.",
                    code="server_error",
                ),
                retry_after=_retry_after(response),
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
                "check the arguments (for example --expires-after must be a positive number of seconds).",
                code=code or "bad_request",
            )
        raise NetworkError(
            f"unexpected HTTP {status} from the Reactor API on {path}{detail}",
            f"check that {ENV_API_URL} ({self.base_url}) points at the Reactor API.",
            code=code or "unexpected_status",
        )


def _ctype(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "no content type")).split(";")[0]


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _error_fields(data: dict[str, Any] | None) -> tuple[str, str]:
    if not data:
        return "", ""
    err = data.get("error")
    if isinstance(err, dict):
        return str(err.get("code") or ""), str(err.get("message") or "")
    if isinstance(err, str):
        return err, str(data.get("message") or "")
    return "", ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _field(data: dict[str, Any], name: str, path: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad_answer(path, f"the field {name!r} is missing or empty")
    return str(value).strip()


def _bad_answer(path: str, why: str) -> NetworkError:
    return NetworkError(
        f"the Reactor API gave an unusable answer on {path}: {why}",
        f"check that {ENV_API_URL} points at the Reactor API (a proxy or captive portal may be answering); "
        "retry later if it persists.",
        code="bad_answer",
    )
