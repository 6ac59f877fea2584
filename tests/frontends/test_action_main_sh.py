"""The action's own bash, run directly with a fake runner env: the checks that act cannot
fake (it sets RUNNER_OS and GITHUB_EVENT_NAME itself) and the input validation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.parts import require_tool
from tests.repo import REPO_ROOT


def _script() -> str:
    # The bash action/main.js runs (with the inputs mapped to this env).
    return (REPO_ROOT / "action" / "main.sh").read_text()


def run_action(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bash = require_tool("bash")
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    files = {}
    for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
        files[var] = str(tmp_path / var.lower())
        Path(files[var]).touch()
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(REPO_ROOT),
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
        "GITHUB_EVENT_NAME": "push",
        "REACTOR_API_URL": "http://127.0.0.1:9",
        # Nothing listens there: one attempt, not the default backoff's ~8 s against a dead port.
        "REACTOR_CI_RETRY_ATTEMPTS": "1",
        "INPUT_DOCKER_LOGIN": "",
        "INPUT_TOKEN_LIFETIME": "",
        "INPUT_PYTHON": "python3",
        **files,
    }
    base.update(env)
    return subprocess.run(
        [bash, "-c", _script()], env=base, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in proc.stderr.splitlines() if line.startswith("::error")]
    assert errors, proc.stderr
    return errors[0]


KEY = "rp_testkey0123456789abcdef"


# (env, expected text, where): "shell" = the action's bash, before Python exists (title "Reactor auth");
# "cli" = `reactor-ci auth`, the one home of the input rules (reactor_ci/auth.py).
@pytest.mark.parametrize(
    ("env", "expected", "where"),
    [
        ({"RUNNER_OS": "Windows", "REACTOR_API_KEY": KEY}, "Windows runners are not supported", "shell"),
        ({"REACTOR_API_KEY": ""}, "The api-key input is empty", "shell"),
        ({"REACTOR_API_KEY": " \n "}, "The api-key input is empty", "shell"),
        ({"REACTOR_API_KEY": "", "GITHUB_EVENT_NAME": "pull_request"}, "pull requests from forks", "shell"),
        ({"REACTOR_API_KEY": "", "GITHUB_ACTOR": "dependabot[bot]"}, "Dependabot secrets", "shell"),
        ({"REACTOR_API_KEY": KEY, "RUNNER_TEMP": ""}, "RUNNER_TEMP is not set", "shell"),
        ({"REACTOR_API_KEY": KEY, "INPUT_PYTHON": "python-nope"}, "No 'python-nope' on this runner", "shell"),
        ({"REACTOR_API_KEY": "ghp_notreactor1234567"}, "api-key input", "cli"),
        (
            {"REACTOR_API_KEY": "rk_app0123456789abcdef", "INPUT_DOCKER_LOGIN": "TRUE"},
            "docker-login needs a partner key",
            "cli",
        ),
        ({"REACTOR_API_KEY": KEY, "INPUT_DOCKER_LOGIN": "yes"}, "docker-login must be auto, true or false", "cli"),
        ({"REACTOR_API_KEY": KEY, "INPUT_TOKEN_LIFETIME": "0"}, "token-lifetime must be a positive", "cli"),
        ({"REACTOR_API_KEY": KEY, "INPUT_TOKEN_LIFETIME": "1h"}, "token-lifetime must be a positive", "cli"),
        ({"REACTOR_API_KEY": KEY, "REACTOR_API_URL": "http://a\nb"}, "must be a single URL", "cli"),
    ],
)
def test_wrong_use_is_explained(tmp_path: Path, env: dict[str, str], expected: str, where: str) -> None:
    proc = run_action(tmp_path, **env)
    assert proc.returncode == (1 if "RUNNER_TEMP" in expected or "python-nope" in expected else 2), proc.stderr
    error = _error(proc)
    title = "Reactor auth" if where == "shell" else "reactor-ci"
    assert error.startswith(f"::error title={title}::")
    assert expected in error
    assert "\n" not in error.rstrip("\n")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    key = env.get("REACTOR_API_KEY", "").strip()
    if key:
        assert key not in error


def test_key_is_masked_first_line_by_line(tmp_path: Path) -> None:
    proc = run_action(tmp_path, REACTOR_API_KEY="ghp_notreactor1234567\nsecond%line", RUNNER_OS="Linux")
    lines = proc.stderr.splitlines()
    assert lines[0] == "::add-mask::ghp_notreactor1234567"
    assert lines[1] == "::add-mask::second%25line"
    # set-up then runs (nothing printed it before the masks), and reactor-ci refuses the key, never showing it
    assert any(line.startswith("::error") for line in lines[2:]), lines
    shown = [line for line in lines if not line.startswith("::add-mask::")]
    assert "ghp_notreactor1234567" not in "\n".join(shown)


def test_partner_key_warns_about_token_lifetime_then_runs_setup(tmp_path: Path) -> None:
    # An unreachable API: setup runs, then login fails with the API error (exit 4), never the key.
    proc = run_action(tmp_path, REACTOR_API_KEY=KEY, INPUT_TOKEN_LIFETIME="600")
    assert "::warning title=Reactor auth::token-lifetime applies to app keys (rk_) only" in proc.stderr
    assert proc.returncode == 4, proc.stderr
    assert KEY not in proc.stderr.replace(f"::add-mask::{KEY}", "")
    (home,) = (tmp_path / "runner-temp").glob("reactor-ci.*")
    bin_dir = home / "bin"
    assert (bin_dir / "reactor-ci").exists() and (bin_dir / "docker-credential-reactor").exists()
    assert (tmp_path / "github_path").read_text() == f"{bin_dir}\n"
    github_env = (tmp_path / "github_env").read_text()
    assert "REACTOR_API_URL<<ghadelimiter_" in github_env
    assert "REACTOR_CI_HOME<<ghadelimiter_" in github_env and f"\n{home}\n" in github_env
    assert KEY not in github_env


def test_logout_action_without_login_is_a_no_op(tmp_path: Path) -> None:
    bash = require_tool("bash")
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "logout" / "action.yml").read_text())
    script = data["runs"]["steps"][0]["run"]
    assert "action/logout.sh" in script
    script = (REPO_ROOT / "action" / "logout.sh").read_text()
    # A reactor-ci at the old fixed path (planted by an earlier job) is never run.
    witness = tmp_path / "witness"
    planted = tmp_path / "reactor-ci" / "bin" / "reactor-ci"
    planted.parent.mkdir(parents=True)
    planted.write_text(f"#!/bin/sh\ntouch {witness}\n")
    planted.chmod(0o755)
    proc = subprocess.run(
        [bash, "-c", script],
        env={"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "nothing to remove" in proc.stdout
    assert not witness.exists()
