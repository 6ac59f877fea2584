"""The registry token realm against the distribution 2.8 rules in docker-notes.md."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from reactor_ci.emulator import realm
from reactor_ci.emulator.server import Emulator

H = "Reactor-API-Key"


def _login(emu: Emulator, client: httpx.Client, key: str | None = None) -> dict[str, Any]:
    r = client.post(emu.url + "/v1/registry/token", headers={H: key or emu.partner_key})
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def _realm(
    emu: Emulator, client: httpx.Client, creds: dict[str, Any] | None, *scopes: str, **params: str
) -> httpx.Response:
    query: list[tuple[str, str | int | float | bool | None]] = [("service", realm.SERVICE), ("account", "sandbox")]
    query += [("scope", s) for s in scopes]
    query += list(params.items())
    auth = (creds["username"], creds["registry_token"]) if creds else None
    return client.get(emu.realm_url, params=query, auth=auth)


def _claims(emu: Emulator, token: str) -> dict[str, Any]:
    """Verify exactly as distribution does: the bundle cert's key, found by kid."""
    cert = x509.load_pem_x509_certificate(emu.signer.cert_path.read_bytes())
    header = jwt.get_unverified_header(token)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert header["alg"] == "ES256"
    assert header["kid"] == realm.libtrust_kid(spki)
    claims: dict[str, Any] = jwt.decode(
        token,
        cert.public_key(),
        algorithms=["ES256"],  # type: ignore[arg-type]
        audience=realm.SERVICE,
        issuer=realm.ISSUER,
    )
    return claims


def test_libtrust_kid_format() -> None:
    kid = realm.libtrust_kid(b"some der bytes")
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", kid)
    digest = hashlib.sha256(b"some der bytes").digest()[:30]
    assert kid.replace(":", "") == base64.b32encode(digest).decode()


def test_push_pull_in_own_namespace(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    r = _realm(emu, client, creds, "repository:sandbox/model:push,pull")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}  # no refresh_token
    assert body["token"] == body["access_token"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["issued_at"])
    assert 60 <= body["expires_in"] <= 300
    claims = _claims(emu, body["token"])
    assert claims["iss"] == realm.ISSUER
    assert isinstance(claims["aud"], str) and claims["aud"] == realm.SERVICE
    assert all(isinstance(claims[k], int) for k in ("exp", "nbf", "iat"))
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["sub"] == "sandbox"
    assert claims["access"] == [{"type": "repository", "name": "sandbox/model", "actions": ["pull", "push"]}]


def test_actions_any_order_and_repeated_scopes(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    r = _realm(
        emu,
        client,
        creds,
        "repository:sandbox/a:pull,push",
        "repository:sandbox/b:pull",
        "repository:other/c:push,pull",
    )
    access = _claims(emu, r.json()["token"])["access"]
    assert access == [
        {"type": "repository", "name": "sandbox/a", "actions": ["pull", "push"]},
        {"type": "repository", "name": "sandbox/b", "actions": ["pull"]},
        {"type": "repository", "name": "other/c", "actions": []},
    ]


@pytest.mark.parametrize(
    "scope",
    [
        "repository:other-org/model:push,pull",  # another org's namespace
        "repository:sandbox:push,pull",  # the bare namespace is not a repo in it
        "repository:sandboxx/model:push",  # prefix look-alike
        "repository:sandbox/model:delete,*",  # only push and pull are ever granted
        "registry:catalog:*",
    ],
)
def test_outside_namespace_empty_grant_not_error(emu: Emulator, client: httpx.Client, scope: str) -> None:
    creds = _login(emu, client)
    r = _realm(emu, client, creds, scope)
    assert r.status_code == 200
    (entry,) = _claims(emu, r.json()["token"])["access"]
    assert entry["actions"] == []


def test_docker_login_flow(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    r = _realm(emu, client, creds, client_id="docker", offline_token="true")
    assert r.status_code == 200
    assert "refresh_token" not in r.json()
    assert _claims(emu, r.json()["token"])["access"] == []


@pytest.mark.parametrize("auth", [None, "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()])
def test_missing_or_malformed_auth(emu: Emulator, client: httpx.Client, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = client.get(emu.realm_url, params={"service": realm.SERVICE}, headers=headers)
    assert r.status_code == 401
    assert "details" in r.json()
    assert r.headers["www-authenticate"].startswith("Basic realm=")


def test_unknown_token_and_wrong_username(emu: Emulator, client: httpx.Client) -> None:
    r = _realm(emu, client, {"username": "sandbox", "registry_token": "rrt_nope"}, "repository:sandbox/a:pull")
    assert r.status_code == 401 and "invalid registry token" in r.json()["details"]
    creds = _login(emu, client)
    r = _realm(emu, client, {**creds, "username": "someone-else"}, "repository:sandbox/a:pull")
    assert r.status_code == 401
    stats = emu.state.stats_dict()["realm"]
    assert stats == {"granted": 0, "denied": 2, "denied_expired": 0, "denied_revoked": 0}


def test_wrong_service(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    r = client.get(emu.realm_url, params={"service": "elsewhere"}, auth=(creds["username"], creds["registry_token"]))
    assert r.status_code == 401


def test_expired_registry_token_is_refused_with_fix(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    client.post(
        emu.control_url + "/registry-tokens/expire", json={"registry_token": creds["registry_token"]}
    ).raise_for_status()
    r = _realm(emu, client, creds, "repository:sandbox/a:push,pull")
    assert r.status_code == 401
    assert r.json() == {"details": realm.EXPIRED_DETAILS}
    assert "docker-login" in r.json()["details"]


@pytest.mark.slow
def test_registry_token_expires_by_ttl(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/config", json={"registry_token_ttl": 3}).raise_for_status()
    creds = _login(emu, client)
    r = _realm(emu, client, creds, "repository:sandbox/a:pull")
    assert r.status_code == 200
    # Bearer never shorter than 60 s, even when the registry token has ~2 s left.
    assert r.json()["expires_in"] == 60
    time.sleep(3.1)
    assert _realm(emu, client, creds, "repository:sandbox/a:pull").status_code == 401


def test_bearer_capped_by_remaining_life(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/config", json={"registry_token_ttl": 200}).raise_for_status()
    creds = _login(emu, client)
    assert 195 <= _realm(emu, client, creds, "repository:sandbox/a:pull").json()["expires_in"] <= 200


def test_revoked_key_old_token_still_works_new_refused(emu: Emulator, client: httpx.Client) -> None:
    """Documented: revocation stops new registry tokens; issued ones live until expiry."""
    creds = _login(emu, client)
    client.post(emu.control_url + "/keys/revoke", json={"key": emu.partner_key}).raise_for_status()
    r = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    assert r.status_code == 403 and r.json()["error"]["code"] == "api_key_revoked"
    r = _realm(emu, client, creds, "repository:sandbox/a:push,pull")
    assert r.status_code == 200
    assert _claims(emu, r.json()["token"])["access"][0]["actions"] == ["pull", "push"]


def test_other_org_token_gets_only_its_namespace(emu: Emulator, client: httpx.Client) -> None:
    org = client.post(emu.control_url + "/orgs", json={"partner_id": "acme"}).json()
    creds = _login(emu, client, org["partner_key"])
    r = _realm(emu, client, creds, "repository:acme/m:push,pull", "repository:sandbox/m:push,pull")
    actions = [a["actions"] for a in _claims(emu, r.json()["token"])["access"]]
    assert actions == [["pull", "push"], []]


def test_realm_cert_endpoint(emu: Emulator, client: httpx.Client) -> None:
    r = client.get(emu.control_url + "/realm-cert")
    assert r.status_code == 200
    cert = x509.load_pem_x509_certificate(r.content)
    assert cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (emu.work_dir / "realm-cert.pem").read_bytes() == r.content


def test_malformed_scope_is_400(emu: Emulator, client: httpx.Client) -> None:
    creds = _login(emu, client)
    r = _realm(emu, client, creds, "nonsense")
    assert r.status_code == 400
