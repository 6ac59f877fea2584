"""The emulator's wire API, over real loopback HTTP, against reactor-api.md."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import jwt
import pytest

from reactor_ci.emulator.server import Emulator
from tests.emulator_fixtures import EmulatorProcess

H = "Reactor-API-Key"
KEY_RE = re.compile(r"^r[pk]_[A-Za-z0-9]{32}$")


def _err(resp: httpx.Response) -> str:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return str(body["error"]["code"])


# -- keys and orgs -----------------------------------------------------------------


def test_start_keys_have_documented_shape(emu: Emulator) -> None:
    assert emu.partner_key.startswith("rp_") and KEY_RE.match(emu.partner_key)
    assert emu.app_key.startswith("rk_") and KEY_RE.match(emu.app_key)
    assert emu.partner_id == "sandbox"
    assert emu.registry == "registry.reactor.inc/sandbox"
    assert emu.url.startswith("http://127.0.0.1:")


def test_keys_are_random(emu: Emulator) -> None:
    keys = {emu.state.create_key("partner").secret for _ in range(50)}
    assert len(keys) == 50


# -- GET /v1/partner ---------------------------------------------------------------


def test_partner(emu: Emulator, client: httpx.Client) -> None:
    r = client.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"partner_id": "sandbox", "registry": "registry.reactor.inc/sandbox"}


@pytest.mark.parametrize("key", [None, "", "rp_unknownunknownunknownunknown12", "garbage"])
def test_partner_invalid_key(emu: Emulator, client: httpx.Client, key: str | None) -> None:
    headers = {} if key is None else {H: key}
    r = client.get(emu.url + "/v1/partner", headers=headers)
    assert r.status_code == 401
    assert _err(r) == "invalid_api_key"


def test_partner_with_app_key_is_wrong_type(emu: Emulator, client: httpx.Client) -> None:
    for path, method in (("/v1/partner", "GET"), ("/v1/registry/token", "POST")):
        r = client.request(method, emu.url + path, headers={H: emu.app_key})
        assert r.status_code == 403
        assert _err(r) == "wrong_key_type"


# -- POST /v1/registry/token -----------------------------------------------------


def test_registry_token(emu: Emulator, client: httpx.Client) -> None:
    before = time.time()
    r = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"registry", "username", "registry_token", "registry_token_expiry"}
    assert body["registry"] == "registry.reactor.inc/sandbox"
    assert body["username"] == "sandbox"
    tok = body["registry_token"]
    assert not tok.startswith(("rp_", "rk_")) and len(tok) >= 32
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["registry_token_expiry"])
    expiry = datetime.strptime(body["registry_token_expiry"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expiry.timestamp() - (before + 43200)) < 5
    again = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key}).json()
    assert again["registry_token"] != tok
    assert emu.state.stats_dict()["registry_tokens_issued"] == 2


def test_registry_token_ttl_from_config(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/config", json={"registry_token_ttl": 120}).raise_for_status()
    body = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key}).json()
    expiry = datetime.strptime(body["registry_token_expiry"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expiry.timestamp() - (time.time() + 120)) < 5


def test_revoked_key_gets_no_registry_token(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/keys/revoke", json={"key": emu.partner_key}).raise_for_status()
    r = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    assert r.status_code == 403 and _err(r) == "api_key_revoked"
    r = client.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
    assert r.status_code == 403 and _err(r) == "api_key_revoked"


def test_expired_key(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/keys/expire", json={"key": emu.partner_key}).raise_for_status()
    r = client.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key})
    assert r.status_code == 401 and _err(r) == "api_key_expired"
    client.post(emu.control_url + "/keys/expire", json={"key": emu.app_key}).raise_for_status()
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key})
    assert r.status_code == 401 and _err(r) == "api_key_expired"


def test_other_org_is_isolated(emu: Emulator, client: httpx.Client) -> None:
    org = client.post(emu.control_url + "/orgs", json={"partner_id": "other-org"}).json()
    assert org["registry"] == "registry.reactor.inc/other-org"
    body = client.post(emu.url + "/v1/registry/token", headers={H: org["partner_key"]}).json()
    assert body["username"] == "other-org" and body["registry"] == "registry.reactor.inc/other-org"
    # Revoking one org's key leaves the other's alone.
    client.post(emu.control_url + "/keys/revoke", json={"key": org["partner_key"]}).raise_for_status()
    assert client.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code == 200


# -- POST /tokens -------------------------------------------------------------------


def test_tokens_default_lifetime(emu: Emulator, client: httpx.Client) -> None:
    now = int(time.time())
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"jwt", "expires_at"}
    assert isinstance(body["expires_at"], int)
    assert abs(body["expires_at"] - (now + 21600)) <= 2
    claims = jwt.decode(body["jwt"], options={"verify_signature": False})
    assert claims["org"] == "sandbox"
    assert claims["exp"] == body["expires_at"]
    assert {"sub", "iat", "exp", "org"} <= set(claims)
    assert emu.app_key not in body["jwt"] and emu.app_key not in str(claims)
    header = jwt.get_unverified_header(body["jwt"])
    assert header["alg"] == "HS256"
    # the emulator can verify its own signature
    assert emu.services.minter.verify(body["jwt"])["org"] == "sandbox"


@pytest.mark.parametrize(
    ("asked", "expected"), [(60, 60), (3600, 3600), (21600, 21600), (21601, 21600), (10**9, 21600)]
)
def test_tokens_clamped(emu: Emulator, client: httpx.Client, asked: int, expected: int) -> None:
    now = int(time.time())
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key}, json={"expires_after": asked})
    assert r.status_code == 200  # silently clamped: still 200
    assert abs(r.json()["expires_at"] - (now + expected)) <= 2


def test_tokens_ceiling_from_config(emu: Emulator, client: httpx.Client) -> None:
    client.post(emu.control_url + "/config", json={"app_token_max": 600}).raise_for_status()
    now = int(time.time())
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key}, json={"expires_after": 3600})
    assert abs(r.json()["expires_at"] - (now + 600)) <= 2


@pytest.mark.parametrize("bad", [0, -5, "60", 1.5, True, False, None, [60], {"s": 1}])
def test_tokens_invalid_expires_after(emu: Emulator, client: httpx.Client, bad: object) -> None:
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key}, json={"expires_after": bad})
    assert r.status_code == 400
    assert _err(r) == "invalid_request"


@pytest.mark.parametrize("raw", [b"{not json", b"[1,2]", b'"x"'])
def test_tokens_malformed_body(emu: Emulator, client: httpx.Client, raw: bytes) -> None:
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key, "Content-Type": "application/json"}, content=raw)
    assert r.status_code == 400 and _err(r) == "invalid_request"


def test_tokens_empty_object_and_empty_body(emu: Emulator, client: httpx.Client) -> None:
    assert client.post(emu.url + "/tokens", headers={H: emu.app_key}, json={}).status_code == 200
    assert client.post(emu.url + "/tokens", headers={H: emu.app_key}, content=b"").status_code == 200


def test_tokens_with_partner_key_is_wrong_type(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.url + "/tokens", headers={H: emu.partner_key})
    assert r.status_code == 403 and _err(r) == "wrong_key_type"


def test_tokens_revoked_and_unknown(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.url + "/tokens", headers={H: "rk_" + "x" * 32})
    assert r.status_code == 401 and _err(r) == "invalid_api_key"
    emu.state.revoke_key(emu.app_key)
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key})
    assert r.status_code == 403 and _err(r) == "api_key_revoked"


def test_tokens_chunked_body(emu: Emulator, client: httpx.Client) -> None:
    def gen() -> Iterator[bytes]:
        yield b'{"expires_af'
        yield b'ter": 120}'

    now = int(time.time())
    r = client.post(emu.url + "/tokens", headers={H: emu.app_key}, content=gen())
    assert r.status_code == 200
    assert abs(r.json()["expires_at"] - (now + 120)) <= 2


# -- routing -----------------------------------------------------------------------


def test_unknown_path_is_json_404(emu: Emulator, client: httpx.Client) -> None:
    r = client.get(emu.url + "/v1/nope")
    assert r.status_code == 404 and _err(r) == "not_found"


def test_wrong_method_is_405(emu: Emulator, client: httpx.Client) -> None:
    r = client.get(emu.url + "/tokens", headers={H: emu.app_key})
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_keep_alive_many_requests(emu: Emulator, client: httpx.Client) -> None:
    for _ in range(30):
        assert client.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code == 200
    assert emu.state.stats_dict()["requests"]["GET /v1/partner"] == 30


def test_concurrent_requests_are_counted_exactly(emu: Emulator) -> None:
    import concurrent.futures

    # One client shared by 16 threads: 16 pooled connections in parallel.
    c = httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=16))

    def call(_: int) -> int:
        return c.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key}).status_code

    with c, concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(call, range(64)))
    assert codes == [200] * 64
    stats = emu.state.stats_dict()
    assert stats["registry_tokens_issued"] == 64
    assert len(emu.state.registry_tokens) == 64


# -- the subprocess fixture other test files use -----------------------------------


def test_fixture_subprocess(emulator: EmulatorProcess) -> None:
    with httpx.Client(trust_env=False) as c:
        r = c.get(emulator.url + "/v1/partner", headers={H: emulator.partner_key})
    assert r.json() == {"partner_id": emulator.partner_id, "registry": emulator.registry}
    assert emulator.registry == f"{emulator.registry_host}/{emulator.partner_id}"
    assert emulator.env("app") == {"REACTOR_API_URL": emulator.url, "REACTOR_API_KEY": emulator.app_key}
    org = emulator.new_org("acme")
    assert org["partner_id"] == "acme" and org["partner_key"].startswith("rp_")
    key = emulator.new_key("app", "acme")
    with httpx.Client(trust_env=False) as c:
        r = c.post(emulator.url + "/tokens", headers={H: key}, json={"expires_after": 60})
    assert r.status_code == 200
    assert emulator.verify_jwt(r.json()["jwt"])["claims"]["org"] == "acme"
    assert emulator.stats()["app_tokens_issued"] == 1
    # The request log is redacted: no key ever appears in it.
    log = emulator.log()
    assert emulator.partner_key not in log and key not in log


# -- robustness --------------------------------------------------------------------


def test_handler_bug_answers_500_and_server_survives(
    emu: Emulator, client: httpx.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reactor_ci.emulator import api

    def boom(*a: object) -> None:
        raise RuntimeError(f"bug with {emu.partner_key}")

    monkeypatch.setattr(api, "get_partner", boom)
    r = client.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
    assert r.status_code == 500 and _err(r) == "internal_error"
    assert emu.partner_key not in r.text
    err = capsys.readouterr().err
    assert "RuntimeError" in err and emu.partner_key not in err  # reported, redacted
    monkeypatch.undo()
    assert client.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code == 200


def _raw(emu: Emulator, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as s:
        s.sendall(request)
        chunks: list[bytes] = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_bad_content_length_is_400(emu: Emulator) -> None:
    answer = _raw(emu, b"POST /tokens HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")


def test_huge_body_is_413(emu: Emulator) -> None:
    answer = _raw(emu, b"POST /tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")


def test_garbage_request_line_does_not_kill_server(emu: Emulator, client: httpx.Client) -> None:
    _raw(emu, b"\x16\x03\x01garbage that is not http\r\n\r\n")  # e.g. a TLS hello to a plain port
    assert client.get(emu.control_url + "/health").status_code == 200


def test_head_has_no_body(emu: Emulator, client: httpx.Client) -> None:
    r = client.head(emu.url + "/v1/partner", headers={H: emu.partner_key})
    assert r.status_code == 405 and r.content == b""
