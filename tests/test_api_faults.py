"""Faults at the API, injected into the real emulator: 429, 5xx, resets, timeouts, garbage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from reactor_ci.api import PATH_PARTNER, PATH_REGISTRY_TOKEN, PATH_TOKENS, ReactorAPI
from reactor_ci.errors import AuthError, ExitCode, NetworkError
from reactor_ci.keys import ApiKey, KeyKind
from tests.clirun import base_env, run
from tests.leaks import assert_no_secret


def _api(emulator: Any, **kw: Any) -> ReactorAPI:
    kw.setdefault("retry_budget", 20.0)
    return ReactorAPI(emulator.url, **kw)


def _partner(emulator: Any) -> ApiKey:
    return ApiKey(emulator.partner_key, KeyKind.PARTNER)


def _count(emulator: Any, method: str, path: str) -> int:
    stats = emulator.stats()
    return int(stats["requests"].get(f"{method} {path}", 0))


@pytest.mark.slow
def test_429_honours_retry_after(emulator: Any) -> None:
    emulator.inject_fault(path=PATH_PARTNER, status=429, count=2, headers={"Retry-After": "1"})
    started = time.monotonic()
    with _api(emulator) as api:
        partner = api.get_partner(_partner(emulator))
    assert partner.partner_id == emulator.partner_id
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After
    assert _count(emulator, "GET", PATH_PARTNER) == 3


def test_5xx_and_reset_are_retried(emulator: Any) -> None:
    emulator.inject_fault(path=PATH_REGISTRY_TOKEN, status=503, count=1)
    emulator.inject_fault(path=PATH_REGISTRY_TOKEN, action="drop", count=1)
    emulator.inject_fault(path=PATH_REGISTRY_TOKEN, status=502, count=1)
    with _api(emulator, backoff=0.01) as api:
        token = api.create_registry_token(_partner(emulator))
    assert token.token and token.expiry.timestamp() > time.time()
    # All three faults fired, each was retried, and the fourth attempt succeeded.
    assert _count(emulator, "POST", PATH_REGISTRY_TOKEN) == 4


@pytest.mark.slow
def test_timeout_is_retried(emulator: Any) -> None:
    emulator.inject_fault(path=PATH_PARTNER, delay=3, count=1)
    with _api(emulator, timeout=1.0) as api:
        assert api.get_partner(_partner(emulator)).partner_id == emulator.partner_id


def test_retries_are_bounded_in_count(emulator: Any) -> None:
    emulator.inject_fault(path=PATH_PARTNER, status=500, count=100)
    with _api(emulator, max_attempts=3, backoff=0.01) as api, pytest.raises(NetworkError) as info:
        api.get_partner(_partner(emulator))
    assert info.value.exit_code == ExitCode.NETWORK
    assert "3 attempts" in info.value.message
    assert _count(emulator, "GET", PATH_PARTNER) == 3


def test_retries_are_bounded_in_time(emulator: Any) -> None:
    emulator.inject_fault(path=PATH_PARTNER, status=429, count=100, headers={"Retry-After": "30"})
    started = time.monotonic()
    with _api(emulator, max_attempts=10, retry_budget=3.0) as api, pytest.raises(NetworkError, match="rate limit"):
        api.get_partner(_partner(emulator))
    assert time.monotonic() - started < 10


def test_auth_errors_are_never_retried(emulator: Any) -> None:
    key = emulator.new_key("partner")
    emulator.revoke(key)
    with _api(emulator) as api, pytest.raises(AuthError) as info:
        api.create_registry_token(ApiKey(key, KeyKind.PARTNER))
    assert info.value.code == "api_key_revoked"
    assert _count(emulator, "POST", PATH_REGISTRY_TOKEN) == 1


def test_wrong_key_type_from_the_server(emulator: Any) -> None:
    # Bypass the client-side kind check to see the server's 403 mapped.
    with _api(emulator) as api, pytest.raises(AuthError) as info:
        api.create_app_token(ApiKey(emulator.partner_key, KeyKind.APP))
    assert info.value.code == "wrong_key_type"
    assert "rk_" in (info.value.fix or "")


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        (
            {
                "status": 200,
                "body": "<html><body>Welcome to the captive portal</body></html>",
                "content_type": "text/html",
            },
            "not a JSON object",
        ),
        ({"status": 200, "body": "{not json", "content_type": "application/json"}, "not a JSON object"),
        ({"status": 200, "body": {"partner": "x"}}, "partner_id"),
        ({"status": 404, "body": "<html>nginx 404</html>", "content_type": "text/html"}, "unexpected HTTP 404"),
    ],
)
def test_unusable_answers(emulator: Any, tmp_path: Path, fault: dict[str, Any], needle: str) -> None:
    emulator.inject_fault(path=PATH_PARTNER, count=1, **fault)
    result = run(["login"], base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key))
    assert result.code == 4
    assert needle in result.stderr
    assert "REACTOR_API_URL" in result.stderr
    assert not (tmp_path / ".reactor" / "credentials").exists()


@pytest.mark.slow
def test_error_page_echoing_the_key_never_reaches_the_screen(emulator: Any, tmp_path: Path) -> None:
    page = f"<html><h1>500</h1><pre>Reactor-API-Key: {emulator.partner_key}</pre></html>"
    emulator.inject_fault(path=PATH_PARTNER, status=500, count=100, body=page, content_type="text/html")
    json_echo = {"error": {"code": "boom", "message": f"bad key {emulator.partner_key}"}}
    emulator.inject_fault(path=PATH_TOKENS, status=418, count=1, body=json_echo)
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key, REACTOR_CI_RETRY_ATTEMPTS="2")
    login = run(["login"], env)
    assert login.code == 4
    token = run(["token"], base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key))
    assert token.code == 4 and "bad key rp_…" in token.stderr
    debug = run(["login"], {**env, "REACTOR_CI_DEBUG": "1"})
    assert_no_secret([login.output, token.output, debug.output], [emulator.partner_key, emulator.app_key])


def test_api_unreachable_exit_4(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = base_env(
        tmp_path,
        f"http://127.0.0.1:{port}",
        REACTOR_API_KEY="rp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
        REACTOR_CI_RETRY_ATTEMPTS="2",
    )
    result = run(["login"], env)
    assert result.code == 4
    assert "cannot reach the Reactor API" in result.stderr and "2 attempts" in result.stderr
