"""The emulator's standard-library HS256 (issue 8.3) against PyJWT, both ways, and hostile input."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.emulator import hs256

SECRET = b"s" * 32
ISS = "reactor-ci-emulator"


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "sub": "key_0123", "org": "sandbox", "iat": now, "exp": now + 600, "jti": "ab", **extra}


def test_pyjwt_verifies_what_we_mint() -> None:
    token = hs256.encode(_claims(), SECRET)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISS, options={"require": ["exp", "iat", "sub"]})
    assert decoded == _claims() | {"iat": decoded["iat"], "exp": decoded["exp"]}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, b"x" * 32, algorithms=["HS256"])


def test_we_verify_what_pyjwt_mints() -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    assert hs256.decode(token, SECRET, issuer=ISS)["org"] == "sandbox"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(exp=int(time.time()) - 1), "ExpiredSignatureError"),
        (_claims(iss="someone-else"), "InvalidIssuerError"),
        ({k: v for k, v in _claims().items() if k != "sub"}, "MissingRequiredClaimError"),
        (_claims(exp=1e12), "DecodeError"),  # exp must be an integer
    ],
)
def test_claims_are_checked(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(hs256.InvalidToken) as info:
        hs256.decode(hs256.encode(claims, SECRET), SECRET, issuer=ISS)
    assert info.value.reason == reason


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_and_other_algorithms_are_refused() -> None:
    body = _b64(_claims())
    # alg=none with an empty signature: the classic bypass.
    with pytest.raises(hs256.InvalidToken):
        hs256.decode(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{body}.", SECRET, issuer=ISS)
    # A correctly HMAC-signed token whose header claims another algorithm.
    other = jwt.encode(_claims(), SECRET * 2, algorithm="HS512")
    with pytest.raises(hs256.InvalidToken):
        hs256.decode(other, SECRET * 2, issuer=ISS)
    # Right key and algorithm, but a header we never emit: not ours.
    extra_header = jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"kid": "x"})
    with pytest.raises(hs256.InvalidToken) as info:
        hs256.decode(extra_header, SECRET, issuer=ISS)
    assert info.value.reason == "InvalidAlgorithmError"


def test_oversized_token_is_refused_before_work() -> None:
    with pytest.raises(hs256.InvalidToken):
        hs256.decode("a." * 5000 + "b", SECRET, issuer=ISS)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(extra=st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in _claims()), _JSON, max_size=5))
def test_round_trip_any_claims(extra: dict[str, Any]) -> None:
    claims = _claims(**extra)
    assert hs256.decode(hs256.encode(claims, SECRET), SECRET, issuer=ISS) == claims


@settings(max_examples=300, deadline=None)
@given(
    token=st.text(max_size=300)
    | st.from_regex(r"[A-Za-z0-9_=+/-]{0,60}\.[A-Za-z0-9_=+/-]{0,60}\.[A-Za-z0-9_=+/-]{0,60}")
)
def test_garbage_raises_only_invalid_token(token: str) -> None:
    with pytest.raises(hs256.InvalidToken):
        hs256.decode(token, SECRET, issuer=ISS)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), char=st.sampled_from("AQgw_-0z"))
def test_any_single_change_is_refused(position: int, char: str) -> None:
    token = hs256.encode(_claims(), SECRET)
    i = position % len(token)
    if token[i] in ".":
        return
    tampered = token[:i] + char + token[i + 1 :]
    if tampered == token:
        return
    with pytest.raises(hs256.InvalidToken):
        hs256.decode(tampered, SECRET, issuer=ISS)
