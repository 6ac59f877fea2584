"""The doctor a front end runs after its login failed (REACTOR_CI_FRONTEND): only what can be the cause,
fixes that name the front end's inputs, and no second CI annotation (issue 20)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reactor_ci.doctor.model import frontend_of
from reactor_ci.emulator.server import Emulator
from tests.clirun import run
from tests.doctor.test_doctor import _doctor, _env, _of

UNKNOWN_KEY = "rp_" + "Z" * 32


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("frontend", "key_source"),
    [
        ("github-action", "the action's api-key input"),
        ("gitlab-component", "the CI/CD variable the component's api-key-variable input names"),
    ],
)
def test_after_a_failed_login_only_the_cause_is_reported(
    emu: Emulator, home: Path, frontend: str, key_source: str
) -> None:
    # No PATH entry holds the helper: the plain doctor would fail `helper` too.
    env = _env(home, emu.url, REACTOR_API_KEY=UNKNOWN_KEY, REACTOR_CI_FRONTEND=frontend, PATH="/usr/bin:/bin")
    result, data = _doctor(env)
    assert result.code == 3, result.stderr
    checks = {d["check"] for d in data}
    # the cause, and the checks on the way to it
    assert checks == {"proxy", "api", "clock", "key"}, data
    (key,) = _of(data, "key", "fail")
    assert key_source in key["detail"] and "invalid" in key["detail"]
    assert "pip install" not in result.stderr + result.stdout
    assert "no credentials file" not in result.stderr
    # the login already raised the one annotation; the doctor's summary is a plain line
    assert "first failure: key" in result.stderr


def test_the_same_failure_without_a_front_end_reports_everything(emu: Emulator, home: Path) -> None:
    env = _env(home, emu.url, REACTOR_API_KEY=UNKNOWN_KEY, PATH="/usr/bin:/bin")
    _result, data = _doctor(env)
    assert {d["check"] for d in data} >= {"credentials", "key", "helper", "docker-config", "docker-daemon"}
    assert _of(data, "credentials", "fail") and _of(data, "helper", "fail")


def test_github_action_doctor_adds_no_second_annotation(emu: Emulator, home: Path, tmp_path: Path) -> None:
    env = _env(home, emu.url, REACTOR_API_KEY=UNKNOWN_KEY, PATH="/usr/bin:/bin", REACTOR_CI_PROVIDER="github")
    env.update({"GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp_path)})
    plain = run(["doctor", "--timeout", "3"], env, timeout=60)
    assert plain.stderr.count("::error") == 1, plain.stderr  # without a front end: its own annotation
    inside = run(["doctor", "--timeout", "3"], {**env, "REACTOR_CI_FRONTEND": "github-action"}, timeout=60)
    assert inside.code == 3
    assert "::error" not in inside.stderr, inside.stderr
    assert "FAIL  key" in inside.stderr


def test_an_api_failure_names_the_front_ends_input(home: Path) -> None:
    env = _env(home, "http://127.0.0.1:9", REACTOR_API_KEY=UNKNOWN_KEY, REACTOR_CI_FRONTEND="github-action")
    result, data = _doctor(env)
    assert result.code == 4
    (api,) = _of(data, "api", "fail")
    assert "the action's api-url input" in api["fix"]
    assert "REACTOR_API_URL" not in api["fix"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("github-action", "github-action"),
        (" gitlab-component\n", "gitlab-component"),
        ("", None),
        ("other", None),
        ("github-action;x", None),
    ],
)
def test_only_known_front_ends_are_recognised(value: str, expected: str | None) -> None:
    assert frontend_of({"REACTOR_CI_FRONTEND": value}) == expected
    assert frontend_of({}) is None
    assert os.environ.get("REACTOR_CI_FRONTEND") is None  # the test process itself is no front end
