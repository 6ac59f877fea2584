"""Issue 10.4: "the server invalidated the token" is not "time passed".

The control API can end a registry token or an app JWT before its recorded
expiry; the realm (and /_emulator/verify-jwt) then say so in words distinct
from expiry, and the stats count the two apart. Real loopback HTTP.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from reactor_ci.emulator import realm
from reactor_ci.emulator.server import Emulator

H = "Reactor-API-Key"
SCOPE = "repository:sandbox/model:push,pull"


def _token(emu: Emulator, client: httpx.Client, key: str | None = None) -> dict[str, Any]:
    r = client.post(emu.url + "/v1/registry/token", headers={H: key or emu.partner_key})
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def _realm(emu: Emulator, client: httpx.Client, creds: dict[str, Any]) -> httpx.Response:
    return client.get(
        emu.realm_url,
        params={"service": realm.SERVICE, "scope": SCOPE},
        auth=(creds["username"], creds["registry_token"]),
    )


def _control(emu: Emulator, client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    r = client.post(emu.control_url + path, json=body)
    r.raise_for_status()
    return r.json()


def test_revoked_registry_token_is_refused_as_revoked_not_expired(emu: Emulator, client: httpx.Client) -> None:
    creds = _token(emu, client)
    assert _realm(emu, client, creds).status_code == 200
    assert _control(emu, client, "/registry-tokens/revoke", {"registry_token": creds["registry_token"]}) == {
        "revoked": 1
    }
    # The recorded expiry is untouched: by the clock the token still has ~12 h.
    tok = emu.state.registry_tokens[creds["registry_token"]]
    assert tok.expires_at - time.time() > 11 * 3600
    r = _realm(emu, client, creds)
    assert r.status_code == 401
    assert r.json() == {"details": realm.REVOKED_DETAILS}
    assert "revoked by server" in realm.REVOKED_DETAILS and "expired" not in realm.REVOKED_DETAILS
    assert r.headers["www-authenticate"].startswith("Basic realm=")
    # The recovery the message names works: a NEW token from the API is accepted.
    again = _token(emu, client)
    assert _realm(emu, client, again).status_code == 200
    stats = emu.state.stats_dict()["realm"]
    assert stats == {"granted": 2, "denied": 1, "denied_expired": 0, "denied_revoked": 1}


def test_expired_and_revoked_are_counted_apart(emu: Emulator, client: httpx.Client) -> None:
    old, revoked = _token(emu, client), _token(emu, client)
    _control(emu, client, "/registry-tokens/expire", {"registry_token": old["registry_token"]})
    _control(emu, client, "/registry-tokens/revoke", {"registry_token": revoked["registry_token"]})
    assert _realm(emu, client, old).json()["details"] == realm.EXPIRED_DETAILS
    assert _realm(emu, client, revoked).json()["details"] == realm.REVOKED_DETAILS
    assert _realm(emu, client, revoked).json()["details"] == realm.REVOKED_DETAILS
    stats = emu.state.stats_dict()["realm"]
    assert stats == {"granted": 0, "denied": 3, "denied_expired": 1, "denied_revoked": 2}


def test_revoke_by_org_hits_only_that_org(emu: Emulator, client: httpx.Client) -> None:
    other = client.post(emu.control_url + "/orgs", json={"partner_id": "acme"}).json()
    mine = [_token(emu, client), _token(emu, client)]
    theirs = _token(emu, client, other["partner_key"])
    assert _control(emu, client, "/registry-tokens/revoke", {"partner_id": "sandbox"}) == {"revoked": 2}
    assert all(_realm(emu, client, c).status_code == 401 for c in mine)
    r = client.get(
        emu.realm_url,
        params={"service": realm.SERVICE, "scope": "repository:acme/m:push"},
        auth=(theirs["username"], theirs["registry_token"]),
    )
    assert r.status_code == 200


def test_revoke_needs_a_selector(emu: Emulator, client: httpx.Client) -> None:
    for path in ("/registry-tokens/revoke", "/app-tokens/revoke"):
        r = client.post(emu.control_url + path, json={})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert _control(emu, client, "/registry-tokens/revoke", {"registry_token": "rrt_unknown"}) == {"revoked": 0}


def _jwt(emu: Emulator, client: httpx.Client, **body: int) -> str:
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key}, json=body or None)
    r.raise_for_status()
    return str(r.json()["jwt"])


def _verify(emu: Emulator, client: httpx.Client, token: str) -> dict[str, Any]:
    result: dict[str, Any] = _control(emu, client, "/verify-jwt", {"jwt": token})
    return result


@pytest.mark.slow
def test_app_jwt_revoked_by_server_vs_expired(emu: Emulator, client: httpx.Client) -> None:
    good, doomed, short = _jwt(emu, client), _jwt(emu, client), _jwt(emu, client, expires_after=1)
    assert _control(emu, client, "/app-tokens/revoke", {"jwt": doomed}) == {"revoked": 1}
    assert _verify(emu, client, good)["valid"] is True
    assert _verify(emu, client, doomed) == {"valid": False, "reason": "RevokedByServer"}
    time.sleep(1.1)
    assert _verify(emu, client, short) == {"valid": False, "reason": "ExpiredSignatureError"}
    assert _verify(emu, client, good[:-3] + "AAA")["reason"] == "InvalidSignatureError"
    assert emu.state.stats_dict()["app_jwt_checks"] == {"valid": 1, "expired": 1, "revoked": 1, "invalid": 1}


def test_app_jwt_revoke_by_org_and_by_jti(emu: Emulator, client: httpx.Client) -> None:
    tokens = [_jwt(emu, client) for _ in range(3)]
    jti = emu.services.minter.verify(tokens[0])["jti"]
    assert _control(emu, client, "/app-tokens/revoke", {"jti": jti}) == {"revoked": 1}
    assert _control(emu, client, "/app-tokens/revoke", {"partner_id": "sandbox"}) == {"revoked": 3}
    assert all(_verify(emu, client, t)["reason"] == "RevokedByServer" for t in tokens)
    # A token minted after the revocation is not affected.
    assert _verify(emu, client, _jwt(emu, client))["valid"] is True


def test_app_jwt_revoke_refuses_a_forged_token(emu: Emulator, client: httpx.Client) -> None:
    forged = _jwt(emu, client)[:-3] + "AAA"
    r = client.post(emu.control_url + "/app-tokens/revoke", json={"jwt": forged})
    assert r.status_code == 400 and "InvalidSignatureError" in r.json()["error"]["message"]
