"""A hostile API: the real `reactor-ci login`/`token` against tests/hostile_server.py, and
Hypothesis over API answers. The property everywhere: a documented exit code (never
1, never a traceback), bounded time, no foreign registry, no secret in any output.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci import redact
from reactor_ci.api import ReactorAPI
from reactor_ci.credentials import CredentialsStore
from reactor_ci.errors import ReactorCIError
from reactor_ci.keys import ApiKey, KeyKind
from reactor_ci.session import Session
from tests import hostile_server as hs
from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret

KEY = "rp_hostilecanary_0123456789abcdef"
APP_KEY = "rk_hostileappcanary_0123456789abcd"
SECRETS = [KEY, KEY[3:], APP_KEY, APP_KEY[3:], hs.TOKEN, hs.JWT]
FAST = {"REACTOR_CI_HTTP_TIMEOUT": "2", "REACTOR_CI_RETRY_MAX_SECONDS": "3", "REACTOR_CI_RETRY_ATTEMPTS": "2"}


@pytest.fixture
def server() -> Any:
    with hs.HostileServer() as srv:
        yield srv


def _login(server: hs.HostileServer, home: Path, *args: str, **extra: str) -> tuple[Result, float]:
    env = base_env(home, server.url, REACTOR_API_KEY=KEY, **{**FAST, **extra})
    started = time.monotonic()
    result = run(["login", *args], env, timeout=60)
    return result, time.monotonic() - started


def _assert_clean(result: Result, code: int) -> None:
    assert result.code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert_no_secret([result.output], SECRETS)


def test_the_well_behaved_server_logs_in(server: hs.HostileServer, tmp_path: Path) -> None:
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 0)
    stored = json.loads((tmp_path / ".reactor" / "credentials").read_text())
    assert stored["registry"] == hs.REGISTRY and stored["registry_token"] == hs.TOKEN
    # No compressed answers: the body cap must bound what is parsed (no gzip bomb).
    assert {r.headers.get("accept-encoding") for r in server.requests} == {"identity"}
    assert all(r.has_key for r in server.requests)


@pytest.mark.slow
@pytest.mark.parametrize("headers", [True, False], ids=["drip-body", "drip-status-line"])
def test_a_dripping_server_fails_at_the_deadline(server: hs.HostileServer, tmp_path: Path, headers: bool) -> None:
    server.route("/v1/partner", hs.Drip(0.1, headers=headers))
    result, elapsed = _login(server, tmp_path, REACTOR_CI_HTTP_TIMEOUT="1", REACTOR_CI_RETRY_MAX_SECONDS="1.5")
    _assert_clean(result, 4)
    # 1 s per attempt, 1.5 s for the whole call: never per-read (a byte every 0.1 s), never forever.
    assert elapsed < 1.5 + 1 + 4, elapsed
    assert "did not finish answering" in result.stderr or "deadline" in result.stderr
    assert not (tmp_path / ".reactor" / "credentials").exists()


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "no-length"])
def test_a_huge_answer_is_refused_after_the_cap(server: hs.HostileServer, tmp_path: Path, length: bool) -> None:
    server.route("/v1/partner", hs.Huge(100 * 1024 * 1024, length=length))
    result, elapsed = _login(server, tmp_path, REACTOR_CI_HTTP_TIMEOUT="20", REACTOR_CI_RETRY_MAX_SECONDS="20")
    _assert_clean(result, 4)
    assert "limit" in result.stderr
    assert elapsed < 15, elapsed  # refused at 256 kB, not after reading 100 MB


@pytest.mark.slow
@pytest.mark.parametrize(
    "data",
    [b"\x00\xff garbage \r\n\r\n", b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{"a"', b"SSH-2.0-OpenSSH\r\n", b""],
    ids=["binary", "truncated", "not-http", "nothing"],
)
def test_garbage_is_a_bad_answer(server: hs.HostileServer, tmp_path: Path, data: bytes) -> None:
    server.route("/v1/partner", hs.Raw(data))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)


def test_a_foreign_registry_never_gets_the_token(server: hs.HostileServer, tmp_path: Path) -> None:
    server.route("/v1/partner", hs.partner_answer("ghcr.io/victim"))
    server.route("/v1/registry/token", hs.token_answer("ghcr.io/victim"))
    result, _ = _login(server, tmp_path, "--docker-login", DOCKER_CONFIG=str(tmp_path / "docker"))
    _assert_clean(result, 4)
    assert "ghcr.io" in result.stderr and "REACTOR_CI_REGISTRY_HOSTS" in result.stderr
    assert not (tmp_path / ".reactor" / "credentials").exists()
    assert not (tmp_path / "docker" / "config.json").exists()


def test_a_listed_staging_registry_is_accepted(server: hs.HostileServer, tmp_path: Path) -> None:
    server.route("/v1/partner", hs.partner_answer("staging.example.com:5000/acme"))
    server.route("/v1/registry/token", hs.token_answer("staging.example.com:5000/acme"))
    result, _ = _login(server, tmp_path, REACTOR_CI_REGISTRY_HOSTS="other.example, staging.example.com:5000")
    _assert_clean(result, 0)


def test_mismatched_registries_name_both_hosts(server: hs.HostileServer, tmp_path: Path) -> None:
    server.route("/v1/registry/token", hs.token_answer("eu.reactor.inc/acme"))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)
    assert "registry.reactor.inc" in result.stderr and "eu.reactor.inc" in result.stderr
    assert not (tmp_path / ".reactor" / "credentials").exists()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_echoed_key_bodies_are_redacted(server: hs.HostileServer, tmp_path: Path, status: int) -> None:
    echo = f"bad key {KEY[3:]} (you sent {KEY}; base {KEY[3:]})"
    server.route("/v1/partner", hs.Json(status, {"error": {"code": "x", "message": echo}}))
    result, _ = _login(server, tmp_path, REACTOR_CI_RETRY_ATTEMPTS="1")
    assert result.code in (2, 3, 4), result.output
    _assert_clean(result, result.code)


def test_echoed_key_body_is_masked_on_github(server: hs.HostileServer, tmp_path: Path) -> None:
    server.route("/v1/partner", hs.Json(400, {"error": {"code": "x", "message": f"echo {KEY[3:]}"}}))
    out = tmp_path / "gh"
    out.write_text("")
    result, _ = _login(server, tmp_path, GITHUB_ACTIONS="true", REACTOR_CI_PROVIDER="github", GITHUB_ENV=str(out))
    assert f"::add-mask::{KEY[3:]}" in result.output  # masked before anything printed it
    without_masks = "\n".join(line for line in result.output.splitlines() if not line.startswith("::add-mask::"))
    assert_no_secret([without_masks], SECRETS)


@pytest.mark.parametrize("expiry", ["1970-01-01T00:00:00Z", 0, 1, "2001-01-01T00:00:00+02:00"])
def test_a_dead_registry_token_is_refused(server: hs.HostileServer, tmp_path: Path, expiry: Any) -> None:
    server.route("/v1/registry/token", hs.token_answer(expiry=expiry))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)
    assert "already expired" in result.stderr


@pytest.mark.parametrize("expires_at", [0, 1_000_000_000, -5])
def test_a_dead_jwt_is_refused(server: hs.HostileServer, tmp_path: Path, expires_at: int) -> None:
    server.route("/tokens", hs.jwt_answer(expires_at))
    env = base_env(tmp_path, server.url, REACTOR_API_KEY=APP_KEY, **FAST)
    result = run(["token"], env, timeout=60)
    _assert_clean(result, 4)


@pytest.mark.parametrize(
    "expiry",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", 1e300, 1e20, -1e300, "9" * 5000, "2025-02-30T00:00:00Z"],
)
def test_out_of_range_times_in_answers_are_exit_4(server: hs.HostileServer, tmp_path: Path, expiry: Any) -> None:
    server.route("/v1/registry/token", hs.token_answer(expiry=expiry))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)


@pytest.mark.parametrize("expires_at", [1e300, 1e20, "soon", None, True])
def test_out_of_range_jwt_expiry_is_exit_4(server: hs.HostileServer, tmp_path: Path, expires_at: Any) -> None:
    server.route("/tokens", hs.Json(200, {"jwt": hs.JWT, "expires_at": expires_at}))
    env = base_env(tmp_path, server.url, REACTOR_API_KEY=APP_KEY, **FAST)
    result = run(["token"], env, timeout=60)
    _assert_clean(result, 4)


def test_deeply_nested_and_huge_numbers_are_exit_4(server: hs.HostileServer, tmp_path: Path) -> None:
    server.route("/v1/partner", hs.Json(200, b'{"partner_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)
    server.route("/v1/partner", hs.Json(200, b'{"partner_id": "acme", "registry": 1' + b"0" * 5000 + b"}"))
    result, _ = _login(server, tmp_path)
    _assert_clean(result, 4)


# -- Hypothesis: any answer, in-process (fast), the same property -------------------

_TIMES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2999-12-31T00:00:00Z", hs.future()]),
    st.text(max_size=40),
)
_STRINGS = st.one_of(
    st.text(max_size=30),
    st.sampled_from([hs.REGISTRY, "ghcr.io/victim", "eu.reactor.inc/acme", "REGISTRY.REACTOR.INC/acme", "a b/c"]),
    st.integers(),
    st.none(),
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def _answers(draw: st.DrawFn) -> tuple[Any, Any]:
    partner = draw(st.one_of(st.fixed_dictionaries({"partner_id": _STRINGS, "registry": _STRINGS}), _JSON))
    token = draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "registry_token": st.one_of(st.just(hs.TOKEN), _STRINGS),
                    "registry": _STRINGS,
                    "registry_token_expiry": _TIMES,
                },
                optional={"username": _STRINGS, "partner_id": _STRINGS},
            ),
            _JSON,
        )
    )
    return partner, token


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=_answers(), status=st.sampled_from([200, 200, 200, 201, 400, 401, 403, 404, 418, 429, 500]))
def test_any_answer_gives_a_documented_error_or_valid_credentials(
    server: hs.HostileServer, tmp_path: Path, answers: tuple[Any, Any], status: int
) -> None:
    partner, token = answers
    server.route("/v1/partner", hs.Json(status, partner, {"Retry-After": "nan"}))
    server.route("/v1/registry/token", hs.Json(200, token))
    path = tmp_path / "credentials"
    path.unlink(missing_ok=True)
    redact.register(KEY)
    api = ReactorAPI(server.url, timeout=5, max_attempts=1, retry_budget=0)
    session = Session(CredentialsStore(path), api, min_remaining=0)
    try:
        creds = session.login(ApiKey(KEY, KeyKind.PARTNER))
    except ReactorCIError as exc:
        assert int(exc.exit_code) in (2, 3, 4), exc
        assert not path.exists()
        assert_no_secret([str(exc), repr(exc)], SECRETS)
        return
    # Accepted: then it was a Reactor registry, both answers agreed, and the token lives.
    assert creds.registry_host.endswith(".reactor.inc")
    assert creds.seconds_left() > 0
    assert CredentialsStore(path).load() == creds


# -- the same deadline over TLS (the real API is https) -------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Any:
    with hs.HostileServer(tls=hs.self_signed(tmp_path)) as srv:
        yield srv


@pytest.mark.slow
def test_tls_login_works_and_a_tls_drip_fails_at_the_deadline(tls_server: hs.HostileServer, tmp_path: Path) -> None:
    assert tls_server.tls is not None
    cert = str(tls_server.tls[0])
    home = tmp_path / "home"
    home.mkdir()
    result, _ = _login(tls_server, home, SSL_CERT_FILE=cert)
    _assert_clean(result, 0)
    tls_server.route("/v1/registry/token", hs.Drip(0.3))
    result, elapsed = _login(tls_server, home, SSL_CERT_FILE=cert)
    _assert_clean(result, 4)
    assert elapsed < 3 + 2 + 4, elapsed
    # An untrusted certificate is a connection failure (exit 4), never a silent downgrade.
    result, _ = _login(tls_server, home)
    _assert_clean(result, 4)
