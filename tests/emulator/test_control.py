"""The control API (/_emulator/...): faults, stats, config, orgs and keys."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from reactor_ci.emulator.server import Emulator
from tests.emulator_fixtures import EmulatorProcess

H = "Reactor-API-Key"


def _fault(emu: Emulator, client: httpx.Client, **spec: Any) -> httpx.Response:
    return client.post(emu.control_url + "/faults", json=spec)


def _partner(emu: Emulator, client: httpx.Client) -> httpx.Response:
    return client.get(emu.url + "/v1/partner", headers={H: emu.partner_key})


def test_health(emu: Emulator, client: httpx.Client) -> None:
    r = client.get(emu.control_url + "/health")
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_control_404_and_405(emu: Emulator, client: httpx.Client) -> None:
    assert client.get(emu.control_url + "/nope").status_code == 404
    r = client.get(emu.control_url + "/orgs")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


# -- faults ------------------------------------------------------------------------


def test_fault_status_default_body_then_normal(emu: Emulator, client: httpx.Client) -> None:
    r = _fault(emu, client, status=503, count=2)
    assert r.status_code == 201 and r.json()["queued"] == 1
    for _ in range(2):
        r = _partner(emu, client)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "internal_error"
    assert _partner(emu, client).status_code == 200


def test_fault_429_has_retry_after(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, status=429)
    r = _partner(emu, client)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.headers["retry-after"] == "1"
    _fault(emu, client, status=429, headers={"Retry-After": "7"})
    assert _partner(emu, client).headers["retry-after"] == "7"
    # null removes the default: the client's fallback path can be tested too
    _fault(emu, client, status=429, headers={"Retry-After": None})
    assert "retry-after" not in _partner(emu, client).headers


def test_fault_custom_body_and_content_type_echoing_a_key(emu: Emulator, client: httpx.Client) -> None:
    page = f"<html><pre>Reactor-API-Key: {emu.partner_key}</pre></html>"
    _fault(emu, client, status=500, body=page, content_type="text/html")
    r = _partner(emu, client)
    assert r.status_code == 500
    assert r.headers["content-type"] == "text/html"
    assert r.text == page


def test_fault_json_body(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, status=200, body={"partner": "x"})
    r = _partner(emu, client)
    assert r.status_code == 200 and r.json() == {"partner": "x"}
    assert r.headers["content-type"] == "application/json"


def test_fault_path_prefix_and_method(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, path="/v1", method="POST", status=502)
    assert _partner(emu, client).status_code == 200  # GET: method does not match
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key})
    assert r.status_code == 200  # path does not match
    r = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    assert r.status_code == 502


def test_faults_are_fifo(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/faults", json=[{"status": 500}, {"status": 502}]).raise_for_status()
    _fault(emu, client, status=503)
    assert [_partner(emu, client).status_code for _ in range(4)] == [500, 502, 503, 200]


def test_fault_default_skips_control_api(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, status=500)
    assert client.get(emu.control_url + "/health").status_code == 200
    assert len(client.get(emu.control_url + "/faults").json()["faults"]) == 1


def test_fault_hits_realm(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, path="/registry/auth", status=503)
    assert client.get(emu.realm_url).status_code == 503


def test_fault_delay_then_normal_answer(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, delay=0.5)
    t0 = time.monotonic()
    r = _partner(emu, client)
    assert r.status_code == 200
    assert time.monotonic() - t0 >= 0.5


def test_fault_delay_makes_client_time_out(emu: Emulator) -> None:
    with httpx.Client(timeout=0.3, trust_env=False) as c:
        c.post(emu.control_url + "/faults", json={"delay": 2, "path": "/v1/partner"}).raise_for_status()
        with pytest.raises(httpx.ReadTimeout):
            c.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
        # the emulator is still fine afterwards
        assert c.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code == 200


def test_fault_drop_resets_connection(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, action="drop", count=2)
    for _ in range(2):
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            _partner(emu, client)
    assert _partner(emu, client).status_code == 200
    assert emu.state.stats_dict()["faults_fired"] == 2


def test_fault_drop_is_a_tcp_reset(emu: Emulator) -> None:
    import socket

    with httpx.Client(trust_env=False) as c:
        c.post(emu.control_url + "/faults", json={"action": "drop"}).raise_for_status()
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as s:
        s.sendall(b"GET /v1/partner HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            data = s.recv(100)
            assert data == b""  # an EOF instead of a reset fails here
            raise AssertionError("no reset")


def test_delete_faults(emu: Emulator, client: httpx.Client) -> None:
    _fault(emu, client, status=500, count=5)
    assert client.delete(emu.control_url + "/faults").json() == {"cleared": 1}
    assert _partner(emu, client).status_code == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 99},
        {"status": "500"},
        {"count": 0},
        {"count": True},
        {"action": "explode"},
        {"delay": -1},
        {"path": "v1/partner"},
        {"headers": ["x"]},
        {"body": "x"},
        {"bogus": 1},
    ],
)
def test_invalid_fault_specs(emu: Emulator, client: httpx.Client, spec: dict[str, Any]) -> None:
    r = _fault(emu, client, **spec)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert client.get(emu.control_url + "/faults").json() == {"faults": []}


def test_faults_consumed_exactly_under_concurrency(emu: Emulator) -> None:
    import concurrent.futures

    c = httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=16))
    with c:
        c.post(emu.control_url + "/faults", json={"status": 503, "count": 10}).raise_for_status()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(lambda _: c.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code, range(40))
            )
    assert codes.count(503) == 10 and codes.count(200) == 30


# -- stats -------------------------------------------------------------------------


def test_stats_and_reset(emu: Emulator, client: httpx.Client) -> None:
    _partner(emu, client)
    client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    client.post(emu.url + "/tokens", headers={H: emu.app_key})
    client.post(emu.url + "/tokens", headers={H: emu.partner_key})  # refused: not counted as issued
    client.get(emu.url + "/nope")
    stats = client.get(emu.control_url + "/stats").json()
    assert stats["requests"] == {"GET /v1/partner": 1, "POST /v1/registry/token": 1, "POST /tokens": 2, "GET /nope": 1}
    assert stats["registry_tokens_issued"] == 1
    assert stats["app_tokens_issued"] == 1
    assert stats["realm"] == {"granted": 0, "denied": 0, "denied_expired": 0, "denied_revoked": 0}
    client.post(emu.control_url + "/reset-stats").raise_for_status()
    stats = client.get(emu.control_url + "/stats").json()
    assert stats["requests"] == {} and stats["registry_tokens_issued"] == 0


# -- config ------------------------------------------------------------------------


def test_config_get_and_set(emu: Emulator, client: httpx.Client) -> None:
    assert client.get(emu.control_url + "/config").json() == {
        "registry_token_ttl": 43200,
        "app_token_max": 21600,
        "rate_limit": 0,
        "rate_window": 60,
    }
    r = client.post(emu.control_url + "/config", json={"app_token_max": 60})
    assert r.json()["app_token_max"] == 60 and r.json()["registry_token_ttl"] == 43200


@pytest.mark.slow
def test_rate_limit_per_key(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/config", json={"rate_limit": 2, "rate_window": 2}).raise_for_status()
    codes = [_partner(emu, client).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = _partner(emu, client)
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 2
    # another key has its own window
    assert client.post(emu.url + "/tokens", headers={H: emu.app_key}).status_code == 200
    time.sleep(int(r.headers["retry-after"]) + 0.1)
    assert _partner(emu, client).status_code == 200
    # 0 turns it off
    client.post(emu.control_url + "/config", json={"rate_limit": 0}).raise_for_status()
    assert all(_partner(emu, client).status_code == 200 for _ in range(5))


@pytest.mark.parametrize(
    "body",
    [
        {"app_token_max": 0},
        {"registry_token_ttl": "5"},
        {"x": 1},
        {"app_token_max": True},
        {"rate_limit": -1},
        {"rate_window": 0},
    ],
)
def test_config_invalid(emu: Emulator, client: httpx.Client, body: dict[str, Any]) -> None:
    assert client.post(emu.control_url + "/config", json=body).status_code == 400


# -- orgs and keys -------------------------------------------------------------------


def test_orgs(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.control_url + "/orgs", json={"partner_id": "other-org"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"partner_id", "registry", "partner_key", "app_key"}
    assert body["partner_key"].startswith("rp_") and body["app_key"].startswith("rk_")
    assert client.post(emu.control_url + "/orgs", json={"partner_id": "other-org"}).status_code == 409
    for bad in ("Upper", "", "a/b", "-x", 5):
        assert client.post(emu.control_url + "/orgs", json={"partner_id": bad}).status_code == 400


def test_keys(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.control_url + "/keys", json={"kind": "app"})
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("rk_") and r.json()["partner_id"] == "sandbox"
    assert client.post(emu.url + "/tokens", headers={H: key}).status_code == 200
    assert client.post(emu.control_url + "/keys", json={"kind": "root"}).status_code == 400
    assert client.post(emu.control_url + "/keys", json={"kind": "app", "partner_id": "nobody"}).status_code == 404
    assert client.post(emu.control_url + "/keys/revoke", json={"key": "rp_unknown"}).status_code == 404
    assert client.post(emu.control_url + "/keys/expire", json={}).status_code == 400


def test_verify_jwt(emu: Emulator, client: httpx.Client) -> None:
    token = client.post(emu.url + "/tokens", headers={H: emu.app_key}).json()["jwt"]
    r = client.post(emu.control_url + "/verify-jwt", json={"jwt": token}).json()
    assert r["valid"] is True and r["claims"]["org"] == "sandbox"
    r = client.post(emu.control_url + "/verify-jwt", json={"jwt": token[:-4] + "AAAA"}).json()
    assert r["valid"] is False


def test_fixture_helpers(emulator: EmulatorProcess) -> None:
    emulator.inject_fault(path="/v1/partner", status=429, headers={"Retry-After": "3"})
    with httpx.Client(trust_env=False) as c:
        r = c.get(emulator.url + "/v1/partner", headers={H: emulator.partner_key})
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert emulator.config(registry_token_ttl=100)["registry_token_ttl"] == 100
        body = c.post(emulator.url + "/v1/registry/token", headers={H: emulator.partner_key}).json()
        assert emulator.expire_registry_tokens(body["registry_token"]) == 1
        emulator.expire(emulator.app_key)
        assert c.post(emulator.url + "/tokens", headers={H: emulator.app_key}).status_code == 401
        emulator.revoke(emulator.partner_key)
        assert c.get(emulator.url + "/v1/partner", headers={H: emulator.partner_key}).status_code == 403
    stats = emulator.stats()
    assert stats["faults_fired"] == 1 and stats["requests"]["GET /v1/partner"] == 2
    emulator.reset_stats()
    emulator.inject_fault(status=500, count=3)
    emulator.clear_faults()
    assert emulator.control("GET", "faults") == {"faults": []}


def test_request_log(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.url + "/tokens", headers={H: emu.app_key}, json={"expires_after": 600})
    client.post(emu.control_url + "/faults", json={"action": "drop", "path": "/v1/partner"})
    with pytest.raises(httpx.TransportError):
        _partner(emu, client)
    client.get(emu.url + "/nope", params={"a": "1"})
    log = client.get(emu.control_url + "/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["fault"]) for e in log] == [
        ("POST", "/tokens", 200, False),
        ("GET", "/v1/partner", None, True),
        ("GET", "/nope", 404, False),
    ]
    assert log[0]["body"] == {"expires_after": 600}
    assert log[0]["key"] == "rk_…" + emu.app_key[-4:]
    assert log[2]["query"] == {"a": ["1"]} and log[2]["key"] is None
    text = str(log)
    assert emu.app_key not in text and emu.partner_key not in text
    client.post(emu.control_url + "/reset-stats").raise_for_status()
    assert client.get(emu.control_url + "/requests").json() == {"requests": []}


def test_request_log_scrubs_bodies(emulator: EmulatorProcess) -> None:
    with httpx.Client(trust_env=False) as c:
        c.post(emulator.url + "/tokens", headers={H: emulator.app_key}, content=f"oops {emulator.partner_key}")
    (entry,) = emulator.requests()
    assert entry["status"] == 400 and emulator.partner_key not in entry["body"]
