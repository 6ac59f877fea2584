"""The registry token realm: what distribution 2.8 delegates authentication to.

Flow: the registry answers 401 with ``WWW-Authenticate: Bearer realm=...``;
the client calls the realm with Basic ``username:registry_token`` and one or
more ``scope=repository:NAME:push,pull``; the realm answers a short bearer JWT
the registry verifies offline against ``rootcertbundle``.  The rules the 2.8
verifier enforces (see docs/emulator.md and docker-notes.md) are easy to get
subtly wrong -- ``aud`` must be a string, ``exp``/``nbf`` integers, the key
found by ``kid`` = libtrust key id -- so they are all here, in one place.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactor_ci.emulator.state import ApiError, State, rfc3339
from reactor_ci.fsutil import atomic_write_text
from reactor_ci.release import pip_install

REALM_PATH = "/registry/auth"
ISSUER = "reactor-ci-emulator"
SERVICE = "reactor-emulator-registry"

# Bearers are short so a revoked org loses push access soon; the engine asks
# the realm again only once its own clock says the bearer expired.
BEARER_MAX = 300
BEARER_MIN = 60  # the registry's leeway; below this a client may see it expired on arrival
ALLOWED_ACTIONS = ("pull", "push")

EXPIRED_DETAILS = "registry token expired: run `reactor-ci docker-login` / refresh"
# Distinct from expiry on purpose (issue 10.4): waiting or a cached-token
# refresh at half-life cannot help here; only a NEW token from the API can.
REVOKED_DETAILS = "registry token revoked by server before its expiry: run `reactor-ci login` to get a new one"
# The extra that brings PyJWT + cryptography (ES256 bearers, the certificate).
EXTRA = "reactor-ci[emulator]"
MISSING_EXTRA = (
    f"the registry realm signs ES256 bearer tokens and needs PyJWT + cryptography: {pip_install('emulator')}"
)


class RealmError(Exception):
    """A 401 with ``{"details": ...}``: docker shows it as ``unauthorized: <details>``.

    ``reason`` (expired / revoked / invalid / ...) is what the stats count.
    """

    def __init__(self, details: str, reason: str = "invalid") -> None:
        super().__init__(details)
        self.details = details
        self.reason = reason


class MissingExtraError(RuntimeError):
    """A feature needs an optional dependency that is not installed (exit 2 at start)."""


@functools.cache
def crypto_available() -> bool:
    """Whether the realm can sign, without importing anything (start-up stays fast)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("jwt", "cryptography"))


def libtrust_kid(spki_der: bytes) -> str:
    """The libtrust key id distribution matches ``kid`` against.

    SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without
    padding, in groups of 4 joined by ``:``.
    """
    digest = hashlib.sha256(spki_der).digest()[:30]
    b32 = base64.b32encode(digest).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


class Signer:
    """A P-256 key and its self-signed certificate, made on first use.

    Lazily, because importing cryptography and PyJWT costs ~100 ms and most
    emulator runs (API tests) never touch the realm.
    """

    def __init__(self, work_dir: Path) -> None:
        self.cert_path = work_dir / "realm-cert.pem"
        self._lock = threading.Lock()
        self._key: Any = None
        self.kid = ""
        self.cert_pem = b""

    def ensure(self) -> None:
        with self._lock:
            if self._key is not None:
                return
            import datetime as dt

            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID

            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
            now = dt.datetime.now(dt.timezone.utc)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            spki = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self.kid = libtrust_kid(spki)
            self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            # Only the certificate goes to disk (the registry needs it); the
            # private key stays in memory.
            atomic_write_text(self.cert_path, self.cert_pem.decode("ascii"), mode=0o644)
            self._key = key

    def sign(self, claims: dict[str, Any]) -> str:
        self.ensure()
        import jwt

        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid, "typ": "JWT"})

    def public_key(self) -> Any:
        self.ensure()
        return self._key.public_key()


@dataclass
class Access:
    type: str
    name: str
    actions: list[str]

    def as_claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": self.actions}


def parse_scopes(values: list[str]) -> list[tuple[str, str, list[str]]]:
    """``repository:NAME:push,pull`` -> (type, name, actions); scope may repeat
    and one value may hold several space-separated scopes (RFC 6749 style)."""
    out = []
    for value in values:
        for scope in value.split():
            parts = scope.split(":")
            if len(parts) < 3:
                raise ApiError(400, "invalid_request", f"malformed scope {scope!r}")
            # The name may itself contain ':' in theory; type first, actions last.
            rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
            out.append((rtype, name, [a for a in actions.split(",") if a]))
    return out


def grant(partner_id: str, rtype: str, name: str, asked: list[str]) -> list[str]:
    """Allowed = push+pull on repositories in the org's own namespace, nothing else.

    An empty grant is an answer, not an error: the registry then says
    ``denied``, which is what a push into someone else's namespace must see.
    """
    if rtype != "repository" or not name.startswith(partner_id + "/"):
        return []
    return [a for a in ALLOWED_ACTIONS if a in asked]


def _basic_auth(header: str | None) -> tuple[str, str]:
    if not header or not header.lower().startswith("basic "):
        raise RealmError("authentication required: log in with `reactor-ci docker-login`")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise RealmError("malformed Basic authorization header") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise RealmError("malformed Basic authorization header")
    return user, password


def issue_bearer(
    state: State, signer: Signer, authorization: str | None, query: dict[str, list[str]]
) -> dict[str, Any]:
    """Check the registry token and answer the realm JSON; raise RealmError (401)."""
    user, password = _basic_auth(authorization)
    with state.lock:
        tok = state.registry_tokens.get(password)
        now = state.clock()
        if tok is None:
            raise RealmError("invalid registry token: run `reactor-ci docker-login` to get a new one")
        if tok.username != user:
            raise RealmError(f"username {user!r} does not match the registry token", "username")
        # A revoked API key does NOT matter here: documented behaviour is that
        # registry tokens already issued keep working until they expire. Only
        # the server invalidating the token itself ends it early.
        if tok.revoked:
            raise RealmError(REVOKED_DETAILS, "revoked")
        remaining = int(tok.expires_at - now)
        if remaining <= 0:
            raise RealmError(EXPIRED_DETAILS, "expired")
        partner_id = tok.partner_id
    service = query.get("service", [SERVICE])[0]
    if service != SERVICE:
        raise RealmError(f"unknown service {service!r}")
    access = []
    for rtype, name, asked in parse_scopes(query.get("scope", [])):
        access.append(Access(rtype, name, grant(partner_id, rtype, name, asked)))
    expires_in = max(BEARER_MIN, min(BEARER_MAX, remaining))
    iat = int(now)
    claims = {
        "iss": ISSUER,
        "sub": user,
        "aud": SERVICE,  # a STRING: distribution 2.8 rejects an array
        "exp": iat + expires_in,  # integers: 2.8 rejects floats
        "nbf": iat,
        "iat": iat,
        "jti": secrets.token_hex(16),
        "access": [a.as_claim() for a in access],
    }
    token = signer.sign(claims)
    # No refresh_token: it would switch the docker client to an OAuth2 flow.
    return {"token": token, "access_token": token, "expires_in": expires_in, "issued_at": rfc3339(iat)}
