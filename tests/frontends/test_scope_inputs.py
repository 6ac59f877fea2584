"""The action's and the component's scope inputs, through their real shell, against the emulator.

Lists are newline- or comma-separated, reach reactor-ci through the
environment only, and every rule is reactor-ci's (reactor_ci/scope.py): the
shell only hands the values over, as ``--opt=value`` so that a value starting
with ``-`` stays a value. The step summary / job log says what the token may do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.frontends.test_action_main_sh import run_action
from tests.frontends.test_gitlab_component_sh import Job
from tests.leaks import assert_no_secret

EXPECTED = [
    {
        "type": "session",
        "resources": {"models": {"match": ["acme/world", "acme/other"]}},
        "constraints": {"max_session_duration_seconds": 600},
    }
]


def test_action_mints_a_model_scoped_token(tmp_path: Path, emulator: EmulatorProcess) -> None:
    proc = run_action(
        tmp_path,
        REACTOR_API_KEY=emulator.app_key,
        REACTOR_API_URL=emulator.url,
        INPUT_MODELS="acme/world\nacme/other\n",
        INPUT_MAX_SESSION_DURATION="600",
    )
    assert proc.returncode == 0, proc.stderr
    outputs = (tmp_path / "github_output").read_text()
    jwt = outputs.split("jwt<<", 1)[1].split("\n")[1]
    assert emulator.verify_jwt(jwt)["claims"]["authorization_details"] == EXPECTED
    summary = (tmp_path / "github_step_summary").read_text()
    assert "only on the models `acme/world`, `acme/other`" in summary and "600 s" in summary
    shown = [line for line in proc.stderr.splitlines() if not line.startswith("::add-mask::")]
    assert_no_secret([*shown, proc.stdout, summary], {"the JWT": jwt, "the app key": emulator.app_key})


def test_action_refuses_constraints_without_a_scope(tmp_path: Path, emulator: EmulatorProcess) -> None:
    proc = run_action(tmp_path, REACTOR_API_KEY=emulator.app_key, REACTOR_API_URL=emulator.url, INPUT_MAX_SESSIONS="3")
    assert proc.returncode == 2, proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=reactor-ci::") and "max-sessions without models or sessions" in error
    assert "POST /tokens" not in emulator.stats()["requests"]


def test_action_input_that_looks_like_an_option_stays_a_value(tmp_path: Path, emulator: EmulatorProcess) -> None:
    proc = run_action(tmp_path, REACTOR_API_KEY=emulator.app_key, REACTOR_API_URL=emulator.url, INPUT_MODELS="-h")
    assert proc.returncode == 2, proc.stderr
    assert "1st models value (not shown) is not owner/model" in proc.stderr
    assert "usage:" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_component_mints_a_model_scoped_token(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    job = Job(tmp_path, emulator, wheel, None, models="acme/world, acme/other", **{"max-session-duration": "600"})
    proc = job.run("before_script", 'printf %s "$REACTOR_JWT" > "$HOME/jwt"', REACTOR_API_KEY=emulator.app_key)
    assert proc.returncode == 0, proc.stderr
    jwt = (job.home / "jwt").read_text()
    assert emulator.verify_jwt(jwt)["claims"]["authorization_details"] == EXPECTED
    assert "It may create and operate sessions only on the models acme/world, acme/other" in proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], {"the JWT": jwt, "the app key": emulator.app_key})
    assert job.run("after_script").returncode == 0


@pytest.mark.slow
def test_component_refuses_a_bad_duration(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    job = Job(tmp_path, emulator, wheel, None, models="acme/world", **{"max-session-duration": "86401"})
    proc = job.run("before_script", REACTOR_API_KEY=emulator.app_key)
    assert proc.returncode == 2, proc.stderr
    assert "max-session-duration must be a whole number from 1 to 86400" in proc.stderr
    assert "POST /tokens" not in emulator.stats()["requests"]
    assert job.run("after_script").returncode == 0
