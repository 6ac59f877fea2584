"""The Reactor wire API as reactor-api.md specifies it: partner, registry token, /tokens.

Handlers are plain functions of (request, emulator pieces) -> response so the
HTTP plumbing in server.py stays separate and these stay easy to read against
the contract.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reactor_ci.emulator import hs256
from reactor_ci.emulator.faults import FaultQueue
from reactor_ci.emulator.realm import Signer
from reactor_ci.emulator.state import ApiError, Key, State, rfc3339, valid_model

API_KEY_HEADER = "Reactor-API-Key"
APP_JWT_ISSUER = "reactor-ci-emulator"
# RFC 9396: the request field, and (section 9.1) the JWT claim that carries what was granted.
AUTHORIZATION_DETAILS = "authorization_details"
SESSION_DURATION_MAX = 24 * 3600  # documented by reactor-sdk 1.13: 1..86400, rejected outside, never clamped
SCOPE_ITEMS_MAX = 100


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self, *, allow_empty: bool = True) -> Any:
        if not self.body.strip():
            if allow_empty:
                return None
            raise ApiError(400, "invalid_request", "a JSON body is required")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_request", "the body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json_body()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "the body must be a JSON object")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))

    @classmethod
    def error(cls, err: ApiError) -> Response:
        return cls.json(err.status, {"error": {"code": err.code, "message": err.message}}, err.headers)


class AppTokenMinter:
    """HS256 JWTs for ``/tokens``; the secret lives only in this process.

    Standard library only (:mod:`.hs256`), so ``/tokens`` works on a plain
    install; any JWT library decodes the result (sub/org/iat/exp/jti).
    """

    def __init__(self) -> None:
        self.secret = secrets.token_bytes(32)

    def mint(self, claims: dict[str, Any]) -> str:
        return hs256.encode(claims, self.secret)

    def verify(self, token: str, clock: Callable[[], float] = time.time) -> dict[str, Any]:
        """The claims of a token we minted and that has not expired; raise hs256.InvalidToken."""
        return hs256.decode(token, self.secret, issuer=APP_JWT_ISSUER, clock=clock)


@dataclass
class Services:
    """What a handler may touch; one per emulator."""

    state: State
    faults: FaultQueue
    minter: AppTokenMinter
    signer: Signer


def get_partner(req: Request, state: State) -> Response:
    key = state.authenticate(req.header(API_KEY_HEADER), "partner")
    org = state.org(key.partner_id)
    return Response.json(200, {"partner_id": org.partner_id, "registry": org.registry})


def post_registry_token(req: Request, state: State) -> Response:
    key = state.authenticate(req.header(API_KEY_HEADER), "partner")
    org = state.org(key.partner_id)
    tok = state.issue_registry_token(key)
    return Response.json(
        200,
        {
            "registry": org.registry,
            "username": tok.username,
            "registry_token": tok.token,
            "registry_token_expiry": rfc3339(tok.expires_at),
        },
    )


def _bad_scope(message: str) -> ApiError:
    return ApiError(400, "invalid_request", f"{AUTHORIZATION_DETAILS}: {message}")


def _scope_names(value: Any, where: str, check: Callable[[Any], bool], shape: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > SCOPE_ITEMS_MAX:
        raise _bad_scope(f"{where} must be a list of 1 to {SCOPE_ITEMS_MAX} {shape}s")
    if not all(check(item) for item in value):
        raise _bad_scope(f"{where} must hold only {shape}s")
    if len(set(value)) != len(value):
        raise _bad_scope(f"{where} lists a {shape} twice")
    return list(value)


def _session_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable() and " " not in value


def _constraint(constraints: dict[str, Any], name: str, high: int) -> int | None:
    if name not in constraints:
        return None
    value = constraints[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise _bad_scope(f"constraints.{name} must be an integer from 1 to {high} (it is rejected, not clamped)")
    return value


def granted_scope(value: Any, key: Key, state: State) -> list[dict[str, Any]]:
    """Check ``authorization_details`` as a coordinator does; the granted value (its claim) or 400.

    One detail of type ``session``; ``resources.models`` is ``{"match": [owner/model, ...]}``
    or ``{"all": true}``; ``resources.sessions.bind`` names open sessions of the
    key's user and org; ``constraints`` holds ``max_sessions`` (>= 1, at least the
    bound ones) and ``max_session_duration_seconds`` (1-86400). Unknown fields are
    refused: a typo must not mint a broader token than the client meant.
    """
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise _bad_scope("must be a list holding one object")
    detail = value[0]
    if detail.get("type") != "session":
        raise _bad_scope('type must be "session"')
    unknown = set(detail) - {"type", "resources", "constraints"}
    if unknown:
        raise _bad_scope(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    resources = detail.get("resources")
    if not isinstance(resources, dict) or "models" not in resources:
        raise _bad_scope("resources must be an object with a models scope")
    if set(resources) - {"models", "sessions"}:
        raise _bad_scope("resources may hold only models and sessions")
    models = resources["models"]
    granted: dict[str, Any] = {}
    if isinstance(models, dict) and set(models) == {"all"} and models["all"] is True:
        granted["models"] = {"all": True}
    elif isinstance(models, dict) and set(models) == {"match"}:
        granted["models"] = {
            "match": _scope_names(models["match"], "resources.models.match", valid_model, "owner/model")
        }
    else:
        raise _bad_scope('resources.models must be {"match": [owner/model, ...]} or {"all": true}')
    bound: list[str] = []
    if "sessions" in resources:
        sessions = resources["sessions"]
        if not isinstance(sessions, dict) or set(sessions) != {"bind"}:
            raise _bad_scope('resources.sessions must be {"bind": [session id, ...]}')
        bound = _scope_names(sessions["bind"], "resources.sessions.bind", _session_id, "session id")
        granted["sessions"] = {"bind": bound}
    constraints = detail.get("constraints", {})
    if not isinstance(constraints, dict) or set(constraints) - {"max_sessions", "max_session_duration_seconds"}:
        raise _bad_scope("constraints may hold only max_sessions and max_session_duration_seconds")
    cap = _constraint(constraints, "max_sessions", 2**31 - 1)
    duration = _constraint(constraints, "max_session_duration_seconds", SESSION_DURATION_MAX)
    if cap is not None and cap < len(bound):
        raise _bad_scope("constraints.max_sessions is below the number of bound sessions, which count towards it")
    state.check_binds(key, bound)
    out: dict[str, Any] = {"type": "session", "resources": granted}
    kept = {name: v for name, v in (("max_sessions", cap), ("max_session_duration_seconds", duration)) if v is not None}
    if kept:
        out["constraints"] = kept
    return [out]


def _body_kind(req: Request, body: Any) -> str:
    if not req.body.strip():
        return "absent"
    if body is None:
        return "null"
    return "empty_object" if body == {} else "object"


def post_tokens(req: Request, state: State, minter: AppTokenMinter) -> Response:
    key = state.authenticate(req.header(API_KEY_HEADER), "app")
    # null and {} both mean "nothing asked" (reactor-sdk 1.13 sends null, older clients {} or
    # nothing); which one came is counted so a test can tell.
    raw = req.json_body()
    if raw is not None and not isinstance(raw, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object or null")
    body: dict[str, Any] = raw or {}
    details = granted_scope(body[AUTHORIZATION_DETAILS], key, state) if AUTHORIZATION_DETAILS in body else None
    ceiling = state.config.app_token_max
    lifetime = ceiling
    if "expires_after" in body:
        asked = body["expires_after"]
        # bool is an int in Python and null/float are JSON types a sloppy
        # client sends; the contract is a positive integer of seconds.
        if isinstance(asked, bool) or not isinstance(asked, int) or asked <= 0:
            raise ApiError(400, "invalid_request", "expires_after must be a positive integer (seconds)")
        # Documented: values at or above the ceiling are silently clamped, 200.
        lifetime = min(asked, ceiling)
    now = int(state.clock())
    claims: dict[str, Any] = {
        "iss": APP_JWT_ISSUER,
        "sub": key.key_id,
        "org": key.partner_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_hex(12),
    }
    if details is not None:
        claims[AUTHORIZATION_DETAILS] = details
    state.count_tokens_body(_body_kind(req, raw))
    token = minter.mint(claims)
    state.record_app_jwt(str(claims["jti"]), key.partner_id)
    return Response.json(200, {"jwt": token, "expires_at": now + lifetime})
