"""The emulator's world: organisations, keys, registry tokens, config and counters.

Everything lives behind ONE lock: the server answers each request on its own
thread, and a test mutates the same state through the control API while a
client under test hammers the wire API.  One coarse lock is plenty for a test
double and leaves no room for lock-ordering bugs.

Only the standard library is imported here so the emulator starts fast: JWT
and cryptography are imported where a request first needs them.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import string
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from reactor_ci import redact

PARTNER_PREFIX = "rp_"
APP_PREFIX = "rk_"
# Registry tokens are opaque on the wire; a distinct prefix keeps them from
# ever being mistaken for (or scanned as) an API key.
REGISTRY_TOKEN_PREFIX = "rrt_"

DEFAULT_PARTNER_ID = "sandbox"
# Keys belong to a user of their org; sessions too (a bind must match both).
DEFAULT_USER = "user-1"
SESSION_PREFIX = "sess_"
SESSIONS_MAX = 10_000
DEFAULT_REGISTRY_HOST = "registry.reactor.inc"
DEFAULT_REGISTRY_TOKEN_TTL = 12 * 3600  # documented: registry tokens live 12 h
DEFAULT_APP_TOKEN_MAX = 6 * 3600  # documented: app JWTs live at most 6 h

RECENT_MAX = 1000
APP_JWTS_MAX = 100_000
_ALPHABET = string.ascii_letters + string.digits
# Docker repository path components are lowercase; an org id is the namespace.
_PARTNER_ID = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def random_chars(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def rfc3339(epoch: float) -> str:
    """Whole seconds, UTC, ``Z`` suffix: the format of ``registry_token_expiry``."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """A failure answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Org:
    partner_id: str
    registry: str


@dataclass
class Key:
    secret: str
    kind: str  # "partner" | "app"
    partner_id: str
    user: str = DEFAULT_USER
    revoked: bool = False
    expired: bool = False

    @property
    def key_id(self) -> str:
        # A stable, non-secret identity for audit-style claims (JWT ``sub``).
        return "key_" + hashlib.sha256(self.secret.encode()).hexdigest()[:16]


@dataclass
class RegistryToken:
    token: str
    username: str
    partner_id: str
    key_id: str
    issued_at: float
    expires_at: float
    # Set by the control API: the server invalidated it before expires_at.
    # Kept apart from expiry so a client can tell "revoked" from "time passed".
    revoked: bool = False


@dataclass
class Session:
    """A model session of one org's user, created and closed through the control API."""

    session_id: str
    partner_id: str
    user: str
    model: str
    created_at: float
    open: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "partner_id": self.partner_id,
            "user": self.user,
            "model": self.model,
            "open": self.open,
        }


@dataclass
class Config:
    registry_token_ttl: int = DEFAULT_REGISTRY_TOKEN_TTL
    app_token_max: int = DEFAULT_APP_TOKEN_MAX
    # Per-key rate limit on the wire API: at most rate_limit calls per
    # rate_window seconds; 0 = off (the default: most tests want no surprise 429s).
    rate_limit: int = 0
    rate_window: int = 60

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry_token_ttl": self.registry_token_ttl,
            "app_token_max": self.app_token_max,
            "rate_limit": self.rate_limit,
            "rate_window": self.rate_window,
        }


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    registry_tokens_issued: int = 0
    app_tokens_issued: int = 0
    realm_granted: int = 0
    realm_denied: int = 0
    # Why the realm refused (expired / revoked / invalid...): sums to realm_denied.
    realm_denied_by: Counter[str] = field(default_factory=Counter)
    # /_emulator/verify-jwt outcomes: valid / expired / revoked / invalid.
    app_jwt_checks: Counter[str] = field(default_factory=Counter)
    faults_fired: int = 0
    # What POST /tokens bodies were: absent, null, empty_object ({}), object. The SDK sends
    # null for an unscoped mint, not {}; a test proves the client does the same.
    tokens_bodies: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "registry_tokens_issued": self.registry_tokens_issued,
            "app_tokens_issued": self.app_tokens_issued,
            "realm": {
                "granted": self.realm_granted,
                "denied": self.realm_denied,
                "denied_expired": self.realm_denied_by["expired"],
                "denied_revoked": self.realm_denied_by["revoked"],
            },
            "app_jwt_checks": {name: self.app_jwt_checks[name] for name in ("valid", "expired", "revoked", "invalid")},
            "faults_fired": self.faults_fired,
            "tokens_bodies": {name: self.tokens_bodies[name] for name in ("absent", "null", "empty_object", "object")},
        }


class State:
    """Thread-safe store; every public method takes the lock."""

    def __init__(
        self,
        *,
        partner_id: str = DEFAULT_PARTNER_ID,
        registry_host: str = DEFAULT_REGISTRY_HOST,
        registry_token_ttl: int = DEFAULT_REGISTRY_TOKEN_TTL,
        app_token_max: int = DEFAULT_APP_TOKEN_MAX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.registry_host = registry_host
        self.default_partner_id = partner_id
        self.config = Config(
            _positive(registry_token_ttl, "registry_token_ttl"), _positive(app_token_max, "app_token_max")
        )
        self.stats = Stats()
        self.orgs: dict[str, Org] = {}
        self.keys: dict[str, Key] = {}
        self.registry_tokens: dict[str, RegistryToken] = {}
        # jti -> partner_id of every app JWT minted, and the jtis the server
        # invalidated; bounded like ``recent`` (oldest forgotten first).
        self.app_jwts: dict[str, str] = {}
        self.revoked_jtis: set[str] = set()
        self._calls: dict[str, deque[float]] = {}
        # What clients sent, newest last, bounded: lets a test assert e.g. the
        # expires_after a client asked for. Keys in it are redacted.
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_MAX)
        self.sessions: dict[str, Session] = {}
        self.create_org(partner_id)

    # -- orgs and keys -------------------------------------------------------

    def create_org(self, partner_id: str) -> tuple[Org, Key, Key]:
        """A new org with one partner key and one app key (like a fresh Dashboard)."""
        if not isinstance(partner_id, str) or not _PARTNER_ID.match(partner_id):
            raise ApiError(
                400, "invalid_request", "partner_id must be lowercase letters, digits and . _ - (a registry namespace)"
            )
        with self.lock:
            if partner_id in self.orgs:
                raise ApiError(409, "conflict", f"organisation {partner_id!r} already exists")
            org = Org(partner_id, f"{self.registry_host}/{partner_id}")
            self.orgs[partner_id] = org
            return org, self.create_key("partner", partner_id), self.create_key("app", partner_id)

    def create_key(self, kind: str, partner_id: str | None = None, user: str = DEFAULT_USER) -> Key:
        if kind not in ("partner", "app"):
            raise ApiError(400, "invalid_request", 'kind must be "partner" or "app"')
        _check_user(user)
        with self.lock:
            pid = partner_id or self.default_partner_id
            if pid not in self.orgs:
                raise ApiError(404, "not_found", f"no organisation {pid!r}")
            prefix = PARTNER_PREFIX if kind == "partner" else APP_PREFIX
            key = Key(prefix + random_chars(32), kind, pid, user)
            self.keys[key.secret] = key
        # The emulator process may log; make sure no line can ever show a key.
        redact.register(key.secret)
        return key

    def _find_key(self, secret: str) -> Key:
        key = self.keys.get(secret)
        if key is None:
            raise ApiError(404, "not_found", "no such key")
        return key

    def revoke_key(self, secret: str) -> None:
        with self.lock:
            self._find_key(secret).revoked = True

    def expire_key(self, secret: str) -> None:
        with self.lock:
            self._find_key(secret).expired = True

    def authenticate(self, secret: str | None, kind: str) -> Key:
        """The key checks of the real API, in its order; raise the documented error."""
        with self.lock:
            key = self.keys.get(secret) if secret else None
            if key is None:
                raise ApiError(
                    401,
                    "invalid_api_key",
                    "Invalid API key: verify it in the Reactor Dashboard; partner keys start with rp_",
                )
            if key.kind != kind:
                raise ApiError(
                    403,
                    "wrong_key_type",
                    "this call needs a partner key (rp_)"
                    if kind == "partner"
                    else "this call needs an app key (rk_); partner keys (rp_) cannot mint JWTs",
                )
            if key.revoked:
                raise ApiError(403, "api_key_revoked", "API key revoked by an organisation admin: generate a new one")
            if key.expired:
                raise ApiError(
                    401, "api_key_expired", "API key expired: generate a new key in the Dashboard and log in again"
                )
            self._rate_limit(key)
            return key

    def _rate_limit(self, key: Key) -> None:
        """Sliding window per key; the caller holds the lock."""
        limit, window = self.config.rate_limit, self.config.rate_window
        if limit <= 0:
            return
        now = self.clock()
        calls = self._calls.setdefault(key.secret, deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= limit:
            retry_after = max(1, math.ceil(calls[0] + window - now))
            raise ApiError(
                429, "rate_limited", f"rate limited: retry after {retry_after} s", {"Retry-After": str(retry_after)}
            )
        calls.append(now)

    # -- registry tokens -----------------------------------------------------

    def issue_registry_token(self, key: Key) -> RegistryToken:
        with self.lock:
            now = self.clock()
            tok = RegistryToken(
                token=REGISTRY_TOKEN_PREFIX + random_chars(40),
                username=key.partner_id,
                partner_id=key.partner_id,
                key_id=key.key_id,
                issued_at=now,
                expires_at=int(now) + self.config.registry_token_ttl,
            )
            self.registry_tokens[tok.token] = tok
            self.stats.registry_tokens_issued += 1
        redact.register(tok.token)
        return tok

    def _matching_tokens(self, token: str | None, partner_id: str | None) -> list[RegistryToken]:
        return [
            t
            for t in self.registry_tokens.values()
            if (token is not None and t.token == token) or (partner_id is not None and t.partner_id == partner_id)
        ]

    def expire_registry_tokens(self, token: str | None = None, partner_id: str | None = None) -> int:
        """Control-API helper: time passed -- the tokens' expiry is now (a 12 h wait in one call)."""
        with self.lock:
            hits = self._matching_tokens(token, partner_id)
            past = self.clock() - 1
            for t in hits:
                t.expires_at = past
            return len(hits)

    def revoke_registry_tokens(self, token: str | None = None, partner_id: str | None = None) -> int:
        """Control-API helper: the server invalidates tokens BEFORE their expiry (which stays as issued)."""
        with self.lock:
            hits = self._matching_tokens(token, partner_id)
            for t in hits:
                t.revoked = True
            return len(hits)

    # -- app JWTs ------------------------------------------------------------

    def record_app_jwt(self, jti: str, partner_id: str) -> None:
        with self.lock:
            if len(self.app_jwts) >= APP_JWTS_MAX:
                oldest = next(iter(self.app_jwts))
                del self.app_jwts[oldest]
                self.revoked_jtis.discard(oldest)
            self.app_jwts[jti] = partner_id
            self.stats.app_tokens_issued += 1

    def revoke_app_jwts(self, jti: str | None = None, partner_id: str | None = None) -> int:
        """Invalidate app JWTs before their ``exp``: one (by jti) or all of an org's so far."""
        with self.lock:
            hits = [j for j, pid in self.app_jwts.items() if j == jti or (partner_id is not None and pid == partner_id)]
            self.revoked_jtis.update(hits)
            return len(hits)

    def jwt_revoked(self, jti: object) -> bool:
        with self.lock:
            return isinstance(jti, str) and jti in self.revoked_jtis

    # -- sessions --------------------------------------------------------------

    def create_session(self, model: str, partner_id: str | None = None, user: str = DEFAULT_USER) -> Session:
        """An open session on ``model`` for ``user`` of the org (the control API's stand-in for a client)."""
        _check_user(user)
        if not isinstance(model, str) or not _MODEL.fullmatch(model):
            raise ApiError(400, "invalid_request", "model must be owner/model")
        with self.lock:
            pid = partner_id or self.default_partner_id
            if pid not in self.orgs:
                raise ApiError(404, "not_found", f"no organisation {pid!r}")
            if len(self.sessions) >= SESSIONS_MAX:
                raise ApiError(409, "conflict", f"at most {SESSIONS_MAX} sessions")
            session = Session(SESSION_PREFIX + random_chars(24), pid, user, model, self.clock())
            self.sessions[session.session_id] = session
            return session

    def close_session(self, session_id: str) -> Session:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise ApiError(404, "not_found", "no such session")
            session.open = False
            return session

    def list_sessions(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s.as_dict() for s in self.sessions.values()]

    def check_binds(self, key: Key, session_ids: list[str]) -> None:
        """Every bound session must be an open one of the key's user and org, or the mint is refused.

        Unknown and foreign sessions get the SAME answer: a key must not learn
        which session ids exist in other organisations.
        """
        with self.lock:
            for sid in session_ids:
                session = self.sessions.get(sid)
                if session is None or session.partner_id != key.partner_id or session.user != key.user:
                    raise ApiError(
                        400,
                        "invalid_request",
                        "authorization_details: a bound session is not a session of this key's user and organisation",
                    )
                if not session.open:
                    raise ApiError(400, "invalid_request", "authorization_details: a bound session is closed")

    def set_registry_host(self, host: str) -> None:
        """Point every org at another registry (a real local one, once it is up)."""
        with self.lock:
            self.registry_host = host
            for org in self.orgs.values():
                org.registry = f"{host}/{org.partner_id}"

    def org(self, partner_id: str) -> Org:
        with self.lock:
            return self.orgs[partner_id]

    # -- config and stats ----------------------------------------------------

    def update_config(self, values: dict[str, Any]) -> dict[str, Any]:
        unknown = set(values) - {"registry_token_ttl", "app_token_max", "rate_limit", "rate_window"}
        if unknown:
            raise ApiError(400, "invalid_request", f"unknown config field(s): {', '.join(sorted(unknown))}")
        checked = {name: _positive(value, name, zero_ok=name == "rate_limit") for name, value in values.items()}
        with self.lock:
            for name, value in checked.items():
                setattr(self.config, name, value)
            self._calls.clear()  # a new limit starts from a clean window
            return self.config.as_dict()

    def count_request(self, method: str, path: str) -> None:
        with self.lock:
            self.stats.requests[f"{method} {path}"] += 1

    def bump(self, counter: str) -> None:
        with self.lock:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)

    def count_realm_denial(self, reason: str) -> None:
        with self.lock:
            self.stats.realm_denied += 1
            self.stats.realm_denied_by[reason] += 1

    def count_tokens_body(self, kind: str) -> None:
        with self.lock:
            self.stats.tokens_bodies[kind] += 1

    def count_jwt_check(self, outcome: str) -> None:
        with self.lock:
            self.stats.app_jwt_checks[outcome] += 1

    def stats_dict(self) -> dict[str, Any]:
        with self.lock:
            return self.stats.as_dict()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = Stats()
            self.recent.clear()

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.recent.append(entry)

    def recent_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.recent)


_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# owner/model, as the wire API checks it (emulator/api.py): the server's rule, not the client's.
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _check_user(user: Any) -> None:
    if not isinstance(user, str) or not _USER.fullmatch(user):
        raise ApiError(400, "invalid_request", "user must be 1-64 letters, digits and . _ -")


def valid_model(name: Any) -> bool:
    return isinstance(name, str) and _MODEL.fullmatch(name) is not None


def _positive(value: Any, name: str, *, zero_ok: bool = False) -> int:
    # bool is an int subclass; True seconds is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero_ok else 1):
        raise ApiError(400, "invalid_request", f"{name} must be a {'non-negative' if zero_ok else 'positive'} integer")
    return value
