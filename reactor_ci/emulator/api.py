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
from reactor_ci.emulator.state import ApiError, State, rfc3339

API_KEY_HEADER = "Reactor-API-Key"
APP_JWT_ISSUER = "reactor-ci-emulator"


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


def post_tokens(req: Request, state: State, minter: AppTokenMinter) -> Response:
    key = state.authenticate(req.header(API_KEY_HEADER), "app")
    body = req.json_object()
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
    claims = {
        "iss": APP_JWT_ISSUER,
        "sub": key.key_id,
        "org": key.partner_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_hex(12),
    }
    token = minter.mint(claims)
    state.record_app_jwt(str(claims["jti"]), key.partner_id)
    return Response.json(200, {"jwt": token, "expires_at": now + lifetime})
