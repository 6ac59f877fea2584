"""Issue 19.9: loopback is a property of the PARSED host, decided by one parser.

``https://[::1].evil.com`` and ``https://127.0.0.1:8443.evil.com`` are names
under evil.com, not loopback addresses. The real helper (fast path and full
path), the real ``login`` and the emulator must all agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import settings
from tests.adversarial.test_store import TOKEN, _good, _helper, _write
from tests.clirun import base_env, run

FAKE_LOOPBACK = [
    "https://[::1].evil.com",
    "https://127.0.0.1:8443.evil.com",
    "https://127.0.0.1.evil.com",
    "https://localhost.evil.com",
    "https://[::1]@evil.com",
    "https://evil.com#@127.0.0.1",
    "https://evil.com\\@127.0.0.1",
    "http://127.0.0.1:99999",
]
REAL_LOOPBACK = ["http://127.0.0.1:8443", "https://localhost", "http://[::1]:5000/", "http://127.9.8.7"]


@pytest.mark.parametrize("url", FAKE_LOOPBACK)
def test_the_helper_does_not_hand_a_loopback_registry_token_to_a_fake_loopback_api(tmp_path: Path, url: str) -> None:
    # A loopback registry is allowed only when the API is loopback too (the emulator):
    # with a fake-loopback API URL the token must not be served, fast path or slow.
    creds = tmp_path / ".reactor" / "credentials"
    _write(creds, _good(registry="127.0.0.1:5000/acme"))
    env = base_env(
        tmp_path, url, REACTOR_CREDENTIALS=str(creds), REACTOR_CI_RETRY_ATTEMPTS="1", REACTOR_CI_HTTP_TIMEOUT="2"
    )
    result = _helper(env, stdin="127.0.0.1:5000")
    assert TOKEN not in result.stdout, url
    assert result.code == 1 and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("url", REAL_LOOPBACK[:1])
def test_the_helper_still_serves_the_emulator(tmp_path: Path, url: str) -> None:
    creds = tmp_path / ".reactor" / "credentials"
    _write(creds, _good(registry="127.0.0.1:5000/acme"))
    env = base_env(tmp_path, url, REACTOR_CREDENTIALS=str(creds))
    result = _helper(env, stdin="127.0.0.1:5000")
    assert result.code == 0 and TOKEN in result.stdout, result.output


@pytest.mark.parametrize("url", FAKE_LOOPBACK[:4])
def test_login_refuses_plain_http_to_a_fake_loopback(tmp_path: Path, url: str) -> None:
    result = run(
        ["login"],
        base_env(tmp_path, url.replace("https://", "http://"), REACTOR_API_KEY="rp_loopcanary_0123456789abcdef"),
    )
    assert result.code == 2 and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("url", FAKE_LOOPBACK)
def test_the_parser_says_no(url: str) -> None:
    assert not settings.url_is_loopback(url)


@pytest.mark.parametrize("url", REAL_LOOPBACK)
def test_the_parser_says_yes(url: str) -> None:
    assert settings.url_is_loopback(url)


@given(label=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), port=st.integers(1, 65535))
def test_a_loopback_literal_followed_by_a_domain_is_never_loopback(label: str, port: int) -> None:
    for fake in (f"[::1].{label}.com", f"127.0.0.1:{port}.{label}.com", f"127.0.0.1.{label}", f"localhost.{label}"):
        assert not settings.url_is_loopback(f"https://{fake}")
        assert not settings.host_is_loopback(fake)
