"""HS256 JWTs (RFC 7519 / RFC 7515) with the standard library only.

``/tokens`` must work on a plain ``pip install reactor-ci`` (issue 8.3): an
HMAC-SHA256 JWT is three base64url segments and one ``hmac`` call, so it needs
no PyJWT.  Only what the emulator mints is accepted back: header exactly
``{"alg": "HS256", "typ": "JWT"}`` (no ``alg: none``, no key confusion), the
signature compared in constant time BEFORE the payload is parsed, and the
registered claims checked.  PyJWT and the public ``reactor-sdk`` client accept
these tokens (tests/emulator/test_hs256.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}
# A JWT we minted is a few hundred bytes; anything far larger is not ours and
# is refused before any decoding work.
MAX_TOKEN_CHARS = 8192


class InvalidToken(ValueError):
    """Why a token was refused; ``reason`` is a short stable name for answers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    # base64 silently skips characters outside the alphabet unless validate=True,
    # which would let two different strings carry the same signature.
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return base64.b64decode(padded.translate(str.maketrans("-_", "+/")), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidToken("DecodeError") from None


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=False).encode()


def _signature(secret: bytes, signing_input: bytes) -> bytes:
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def encode(claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64url(_compact_json(_HEADER))}.{b64url(_compact_json(claims))}".encode("ascii")
    return signing_input.decode("ascii") + "." + b64url(_signature(secret, signing_input))


def decode(
    token: str,
    secret: bytes,
    *,
    issuer: str,
    require: Iterable[str] = ("exp", "iat", "sub"),
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The verified claims of ``token``; raise :class:`InvalidToken` otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidToken("DecodeError")
    head_b64, body_b64, sig_b64 = token.split(".")
    try:
        signing_input = f"{head_b64}.{body_b64}".encode("ascii")
        sig_b64.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken("DecodeError") from None
    # Signature first: nothing an attacker controls is parsed before it is
    # known to come from us.
    # Compared as canonical text: decoding would let a changed last character
    # (its unused padding bits) pass as the same signature.
    if not hmac.compare_digest(sig_b64.encode(), b64url(_signature(secret, signing_input)).encode()):
        raise InvalidToken("InvalidSignatureError")
    try:
        header = json.loads(_b64url_decode(head_b64))
        claims = json.loads(_b64url_decode(body_b64))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("DecodeError") from None
    if header != _HEADER:
        raise InvalidToken("InvalidAlgorithmError")
    if not isinstance(claims, dict):
        raise InvalidToken("DecodeError")
    for name in require:
        if name not in claims:
            raise InvalidToken("MissingRequiredClaimError")
    if claims.get("iss") != issuer:
        raise InvalidToken("InvalidIssuerError")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise InvalidToken("DecodeError")
    if exp <= clock():
        raise InvalidToken("ExpiredSignatureError")
    return claims
