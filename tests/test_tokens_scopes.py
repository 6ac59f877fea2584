"""`reactor-ci token` and `reactor-ci auth` mint session-scoped JWTs: the real CLI against a real emulator.

The issue's "done when": ``token --model acme/world --max-session-duration 600
--json`` returns a JWT whose claims carry exactly that scope; an unscoped mint
sends ``null``; out-of-range and malformed options are exit 2 before any
request, with no traceback and the value never echoed. Every output (stdout,
stderr, step outputs, summary) is checked for the key and, outside the places
the JWT belongs, the JWT.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirun import base_env, run
from tests.emulator_fixtures import EmulatorProcess, running_emulator
from tests.hostile_server import HostileServer, Json
from tests.leaks import assert_no_secret

ACME = {"type": "session", "resources": {"models": {"match": ["acme/world"]}}}


def _tokens_calls(emulator: EmulatorProcess) -> int:
    return int(emulator.stats()["requests"].get("POST /tokens", 0))


def test_model_scoped_token_carries_exactly_that_scope(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["token", "--model", "acme/world", "--max-session-duration", "600", "--json"], env)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = [{**ACME, "constraints": {"max_session_duration_seconds": 600}}]
    assert doc["authorization_details"] == expected
    assert set(doc) == {"jwt", "expires_at", "authorization_details"}
    claims = emulator.verify_jwt(doc["jwt"])["claims"]
    assert claims["authorization_details"] == expected and claims["exp"] == doc["expires_at"]
    assert "only on the models acme/world" in result.stderr and "600 s" in result.stderr
    assert emulator.requests()[-1]["body"] == {"authorization_details": expected}
    assert_no_secret([result.stderr], {"the app key": emulator.app_key, "the JWT": doc["jwt"]})
    assert_no_secret([result.stdout], {"the app key": emulator.app_key})


def test_unscoped_mint_sends_null(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["token", "--json"], env)
    assert result.code == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"jwt", "expires_at"}  # no scope stated, none reported
    assert "anything the key's roles allow" in result.stderr
    bodies = emulator.stats()["tokens_bodies"]
    assert bodies["null"] == 1 and bodies["empty_object"] == 0 and bodies["absent"] == 0
    # With only a lifetime the body is an object again, as the SDK sends it.
    assert run(["token", "--expires-after", "900"], env).code == 0
    assert emulator.requests()[-1]["body"] == {"expires_after": 900}


def test_bound_sessions(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    sid = emulator.control("POST", "/sessions", {"model": "acme/world"})["session_id"]
    result = run(["token", "--session", sid, "--max-sessions", "2", "--json"], env)
    assert result.code == 0, result.stderr
    granted = json.loads(result.stdout)["authorization_details"]
    assert granted == [
        {
            "type": "session",
            "resources": {"models": {"all": True}, "sessions": {"bind": [sid]}},
            "constraints": {"max_sessions": 2},
        }
    ]
    assert "act on the bound sessions" in result.stderr and "any model" in result.stderr

    emulator.control("POST", "/sessions/close", {"session_id": sid})
    before = emulator.stats()["app_tokens_issued"]
    closed = run(["token", "--session", sid], env)
    assert closed.code == 2 and "HTTP 400" in closed.stderr and "closed" in closed.stderr
    assert "open session of this key's user" in closed.stderr  # the fix
    assert "Traceback" not in closed.stderr
    assert emulator.stats()["app_tokens_issued"] == before


BAD = [
    (["--model", "acme/world", "--max-session-duration", "0"], "from 1 to 86400"),
    (["--model", "acme/world", "--max-session-duration", "86401"], "from 1 to 86400"),
    (["--model", "acme/world", "--max-session-duration=-5"], "from 1 to 86400"),
    (["--model", "acme/world", "--max-session-duration", "1.5"], "whole number"),
    (["--model", "acme/world", "--max-session-duration", "10m"], "whole number"),
    (["--model", "acme/world", "--max-sessions", "0"], "--max-sessions must be a whole number from 1"),
    (["--model", "acme/world", "--max-sessions=-1"], "--max-sessions must be a whole number from 1"),
    (["--model", ""], "is not owner/model"),
    (["--model", "world"], "is not owner/model"),
    (["--model", "acme/world/x"], "is not owner/model"),
    (["--model", " acme/world"], "is not owner/model"),
    (["--model", "acme/world\n"], "is not owner/model"),
    (["--model", "acme/world", "--model", "acme/world"], "repeats an earlier one"),
    (["--model", "acme/world", "--model", "acme/w\x1bx"], "2nd --model"),
    (["--session", ""], "is not a session id"),
    (["--session", "a b"], "is not a session id"),
    (["--max-sessions", "3"], "without --model or --session"),
    (["--max-session-duration", "600"], "the server ignores it"),
    (["--max-sessions", "3", "--max-session-duration", "600"], "ignores them"),
    (["--session", "s1", "--session", "s2", "--max-sessions", "1"], "below the 2 bound sessions"),
    (["--model", "acme/world", "--expires-after", "0"], "--expires-after must be a positive"),
]


@pytest.fixture(scope="module")
def refusing_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator for every refused case: none may reach it (each test zeroes and re-reads its counters)."""
    with running_emulator(tmp_path_factory.mktemp("emulator")) as emu:
        yield emu


@pytest.mark.parametrize(("extra", "expected"), BAD)
def test_bad_options_are_exit_2_before_any_request(
    refusing_emulator: EmulatorProcess, tmp_path: Path, extra: list[str], expected: str
) -> None:
    emulator = refusing_emulator
    emulator.reset_stats()
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["token", *extra], env)
    assert result.code == 2, result.output
    assert expected in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert _tokens_calls(emulator) == 0
    assert_no_secret([result.output], {"the app key": emulator.app_key})


def test_a_key_pasted_as_a_model_is_never_echoed(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["token", "--model", emulator.app_key, "--session", emulator.app_key], env)
    assert result.code == 2 and "(not shown)" in result.stderr
    assert_no_secret([result.output], {"the app key": emulator.app_key})
    assert _tokens_calls(emulator) == 0


def test_github_outputs_and_summary_say_what_the_token_may_do(emulator: EmulatorProcess, tmp_path: Path) -> None:
    files = {name: tmp_path / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.touch()
    env = base_env(
        tmp_path / "home",
        emulator.url,
        REACTOR_API_KEY=emulator.app_key,
        GITHUB_ACTIONS="true",
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        **{name: str(path) for name, path in files.items()},
    )
    result = run(["token", "--model", "acme/world", "--model", "acme/other", "--max-sessions", "3"], env)
    assert result.code == 0, result.output
    outputs = files["GITHUB_OUTPUT"].read_text()
    jwt = outputs.split("jwt<<", 1)[1].split("\n")[1]
    assert f"::add-mask::{jwt}" in result.stderr
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    assert "`acme/world`, `acme/other`" in summary and "at most 3 session(s)" in summary
    assert "as its claims state" in summary
    assert_no_secret([result.stdout, summary, files["GITHUB_ENV"].read_text()], {"the JWT": jwt})
    shown = [line for line in result.stderr.splitlines() if not line.startswith("::add-mask::")]
    assert_no_secret(shown, {"the JWT": jwt, "the app key": emulator.app_key})
    assert_no_secret([outputs, summary], {"the app key": emulator.app_key})


# -- reactor-ci auth: the action's and the component's entry ------------------------------


def test_auth_takes_lists_newline_or_comma_separated(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["auth", "--json", "--models=acme/world, acme/other\n\nacme/third,", "--max-session-duration=60"], env)
    assert result.code == 0, result.stderr
    granted = json.loads(result.stdout)["authorization_details"]
    assert granted[0]["resources"]["models"]["match"] == ["acme/world", "acme/other", "acme/third"]
    assert granted[0]["constraints"] == {"max_session_duration_seconds": 60}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-sessions=3"], "max-sessions without models or sessions"),
        (["--models=acme"], "1st models value (not shown) is not owner/model"),
        (["--models=a/b", "--max-session-duration=86401"], "max-session-duration must be a whole number from 1"),
        (["--sessions=s1,s2", "--max-sessions=1"], "max-sessions 1 is below the 2 bound sessions"),
    ],
)
def test_auth_refuses_bad_scope_inputs(
    emulator: EmulatorProcess, tmp_path: Path, args: list[str], expected: str
) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.app_key)
    result = run(["auth", "--key-name", "api-key input", *args], env)
    assert result.code == 2 and expected in result.stderr, result.stderr
    assert _tokens_calls(emulator) == 0


def test_auth_with_a_partner_key_ignores_the_scope_with_a_warning(emulator: EmulatorProcess, tmp_path: Path) -> None:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key)
    result = run(["auth", "--docker-login=false", "--models=acme/world"], env)
    assert result.code == 0, result.stderr
    assert "scope app-key JWTs (rk_) only; ignored for a partner key" in result.stderr


# -- what a server states back is reported, never trusted ----------------------------------


def _jwt_with(claims: object) -> str:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def test_a_broader_grant_than_asked_is_warned_about(tmp_path: Path) -> None:
    import time

    granted = [{"type": "session", "resources": {"models": {"all": True}}, "constraints": {"max_sessions": 99}}]
    jwt = _jwt_with({"authorization_details": granted})
    with HostileServer() as server:
        server.route("/tokens", Json(200, {"jwt": jwt, "expires_at": int(time.time()) + 600}))
        env = base_env(tmp_path, server.url, REACTOR_API_KEY="rk_" + "Canary9" * 5)
        result = run(["token", "--model", "acme/world", "--json"], env)
    assert result.code == 0, result.stderr
    assert "different scope than asked" in result.stderr and "any model" in result.stderr
    assert json.loads(result.stdout)["authorization_details"] == granted


@pytest.mark.parametrize(
    "claim",
    [
        [{"type": "session", "resources": {"models": {"match": ["\x1b]8;;evil\x07x/y"]}}}],
        [{"type": "session", "resources": {"models": {"match": ["a/b" * 500]}}}],
        [{"type": "session", "resources": {"models": {"all": True}}, "constraints": {"max_sessions": 10**30}}],
        {"type": "session"},
        "everything",
    ],
)
def test_an_unreadable_stated_scope_is_not_reported(tmp_path: Path, claim: object) -> None:
    import time

    jwt = _jwt_with({"authorization_details": claim})
    with HostileServer() as server:
        server.route("/tokens", Json(200, {"jwt": jwt, "expires_at": int(time.time()) + 600}))
        env = base_env(tmp_path, server.url, REACTOR_API_KEY="rk_" + "Canary9" * 5)
        result = run(["token", "--model", "acme/world", "--json"], env)
    assert result.code == 0, result.stderr
    assert "cannot read" in result.stderr and "\x1b" not in result.stderr
    assert "authorization_details" not in json.loads(result.stdout)
