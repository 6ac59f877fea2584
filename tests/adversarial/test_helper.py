"""A hostile world around the credential helper: stdin, server URLs, a stalled lock, a dripping API.

The protocol layer runs in-process with in-memory streams under Hypothesis;
the bounded-time cases run the real installed ``docker-credential-reactor``.
The property: exit 0 with the token for OUR registry only, else exit 1 with
one line on stdout; never a traceback; never longer than its deadline.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci.api import validate_base_url
from reactor_ci.docker import helper
from reactor_ci.errors import UsageError
from tests import hostile_server as hs
from tests.adversarial.test_store import HOST, KEY, TOKEN, _env, _good, _helper, _write

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """conftest's private home, with a good credentials file where the store keeps it and one API attempt."""
    creds = home / ".reactor" / "credentials"
    monkeypatch.setenv("REACTOR_CREDENTIALS", str(creds))
    monkeypatch.setenv("REACTOR_CI_RETRY_ATTEMPTS", "1")
    monkeypatch.delenv("REACTOR_CI_RETRY_MAX_SECONDS", raising=False)
    _write(creds, _good())
    return home


def _handle(action: str, stdin: str) -> tuple[int, str]:
    out = io.StringIO()
    code = helper.handle(helper.ReactorHelper(), action, io.StringIO(stdin), out)
    return code, out.getvalue()


_SERVERS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            HOST,
            f"https://{HOST}/v2/",
            f"http://{HOST.upper()}",
            f"{HOST}:443",
            f"{HOST}.evil.com",
            f"evil.com/{HOST}",
            f"https://user:pw@{HOST}",
            f"{HOST}\n",
            f" {HOST} ",
            "ghcr.io",
            "[::1]:5000",
            "x" * 70_000,
        ]
    ),
)


@_FUZZ
@given(action=st.sampled_from(["get", "store", "erase", "list", "version", "", "GET", "get\n"]), stdin=_SERVERS)
def test_any_stdin_gets_a_protocol_answer(home: Path, action: str, stdin: str) -> None:
    code, out = _handle(action, stdin)
    assert code in (0, 1)
    assert out.count("\n") <= 1 and "Traceback" not in out
    assert KEY not in out and KEY[3:] not in out
    if TOKEN in out:
        # The token only for OUR registry host, exactly as docker spells it.
        assert action == "get" and code == 0
        answer = json.loads(out)
        assert helper.normalize_server(stdin) == HOST and answer["ServerURL"] == HOST
    if action == "get" and code == 1:
        missing = helper.MISSING_SERVER_URL if not stdin.strip() else helper.NOT_FOUND  # the protocol's two answers
        assert out.strip() == missing or out.startswith("reactor-ci")


@_FUZZ
@given(stdin=st.one_of(st.text(max_size=200), st.builds(json.dumps, st.dictionaries(st.text(max_size=10), st.text()))))
def test_store_never_keeps_what_it_is_given(home: Path, stdin: str) -> None:
    before = (home / ".reactor" / "credentials").read_bytes()
    code, out = _handle("store", stdin)
    assert (code, out) == (0, "")
    assert (home / ".reactor" / "credentials").read_bytes() == before


@_FUZZ
@given(
    url=st.one_of(
        st.text(max_size=60),
        st.builds(lambda h, p: f"http://{h}{p}", st.text(max_size=20), st.text()),
        st.builds(lambda h: f"https://{h}/api", st.text(alphabet="abc.-_:[]1@ é", max_size=20)),
    )
)
def test_any_api_url_is_accepted_or_exit_2(url: str) -> None:
    try:
        clean = validate_base_url(url)
    except UsageError as exc:
        assert int(exc.exit_code) == 2
        return
    assert clean.startswith(("http://", "https://")) and clean.isprintable()
    # Whatever was accepted, httpx takes it as is: no late InvalidURL (an exit 1).
    import httpx

    request = httpx.Client(base_url=clean).build_request("GET", "/v1/partner")
    assert request.url.host


def test_the_helper_answers_only_for_its_registry(home: Path) -> None:
    assert _handle("get", f"https://{HOST}/v2/")[0] == 0
    for other in ("ghcr.io", f"{HOST}.evil.com", "https://evil.com/registry.reactor.inc", "\x00"):
        assert _handle("get", other) == (1, helper.NOT_FOUND + "\n"), other
    assert _handle("get", "") == (1, helper.MISSING_SERVER_URL + "\n")  # no server at all


# -- bounded time, with the real helper ------------------------------------------


@pytest.fixture
def server() -> Iterator[hs.HostileServer]:
    with hs.HostileServer() as srv:
        yield srv


def _expiring(left: float) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return _good(
        registry_token_expiry=(now + timedelta(seconds=left)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        registry_token_issued_at=(now - timedelta(hours=11)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


@pytest.mark.slow
def test_a_stalled_lock_holder_does_not_hold_the_helper(tmp_path: Path, server: hs.HostileServer) -> None:
    creds = tmp_path / ".reactor" / "credentials"
    _write(creds, _expiring(600))  # still valid, but due for a refresh
    env = {**_env(tmp_path), "REACTOR_API_URL": server.url, "REACTOR_CI_HELPER_DEADLINE": "2"}
    with FileLock(str(creds.with_name("credentials.lock"))):
        started = time.monotonic()
        got = _helper(env)
        elapsed = time.monotonic() - started
    assert got.code == 0 and json.loads(got.stdout)["Secret"] == TOKEN, got.output
    assert elapsed < 2 + 3, elapsed
    assert "refresh lock" in (tmp_path / ".reactor" / "helper.log").read_text()
    assert server.requests == []


@pytest.mark.slow
def test_a_stalled_lock_and_a_dead_token_fail_clearly(tmp_path: Path, server: hs.HostileServer) -> None:
    creds = tmp_path / ".reactor" / "credentials"
    _write(creds, _expiring(-60))
    env = {**_env(tmp_path), "REACTOR_API_URL": server.url, "REACTOR_CI_HELPER_DEADLINE": "2"}
    with FileLock(str(creds.with_name("credentials.lock"))):
        started = time.monotonic()
        got = _helper(env)
        elapsed = time.monotonic() - started
    assert got.code == 1 and got.stdout.startswith("reactor-ci:") and "lock" in got.stdout, got.output
    assert TOKEN not in got.stdout and elapsed < 2 + 3, elapsed


@pytest.mark.slow
@pytest.mark.parametrize("left", [600, -60], ids=["still-valid", "expired"])
def test_a_dripping_api_is_bounded_by_the_helper_deadline(
    tmp_path: Path, server: hs.HostileServer, left: float
) -> None:
    server.route("/v1/registry/token", hs.Drip(0.1))
    _write(tmp_path / ".reactor" / "credentials", _expiring(left))
    env = {
        **_env(tmp_path),
        "REACTOR_API_URL": server.url,
        "REACTOR_CI_HELPER_DEADLINE": "1.5",
        "REACTOR_CI_HTTP_TIMEOUT": "30",
        "REACTOR_CI_RETRY_ATTEMPTS": "5",
    }
    started = time.monotonic()
    got = _helper(env)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 3, elapsed
    assert server.requests, "the helper did try to refresh"
    if left > 0:
        assert got.code == 0 and json.loads(got.stdout)["Secret"] == TOKEN, got.output
    else:
        assert got.code == 1 and got.stdout.startswith("reactor-ci:"), got.output
