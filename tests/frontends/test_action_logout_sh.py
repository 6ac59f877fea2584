"""action/logout.sh (the post step's and the logout sub-action's script) on its own: it removes only
the private directory the set-up made in THIS job, and runs nothing from it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT

SCRIPT = REPO_ROOT / "action" / "logout.sh"


def _logout(runner_temp: Path, home: str) -> subprocess.CompletedProcess[str]:
    bash = require_tool("bash")
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(runner_temp), "REACTOR_CI_HOME": home}
    return subprocess.run([bash, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)


def _home(runner_temp: Path, name: str = "reactor-ci.AbC123") -> Path:
    home = runner_temp / name
    (home / "reactor-ci").mkdir(parents=True)
    home.chmod(0o700)
    (home / ".reactor-ci-bootstrap.json").write_text("{}")
    (home / "reactor-ci" / "credentials").write_text("{}")
    # a reactor-ci in it that must never run
    (home / "bin").mkdir()
    witness = runner_temp.parent / "witness"
    (home / "bin" / "reactor-ci").write_text(f"#!/bin/sh\ntouch {witness}\n")
    (home / "bin" / "reactor-ci").chmod(0o755)
    return home


def test_removes_this_jobs_directory_and_runs_nothing_from_it(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    home = _home(temp)
    proc = _logout(temp, str(home))
    assert proc.returncode == 0, proc.stderr
    assert not home.exists()
    assert f"Removed {home}" in proc.stdout
    assert not (tmp_path / "witness").exists()
    again = _logout(temp, str(home))  # idempotent
    assert again.returncode == 0 and "nothing to remove" in again.stdout


@pytest.mark.parametrize("case", ["outside-temp", "nested", "symlink", "no-marker", "other-name", "empty"])
def test_refuses_what_is_not_ours(tmp_path: Path, case: str) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    if case == "outside-temp":
        other = tmp_path / "elsewhere"
        other.mkdir()
        target = _home(other)
    elif case == "nested":
        target = _home(temp / "reactor-ci.deep")
    elif case == "symlink":
        real = _home(tmp_path / "real")
        target = temp / "reactor-ci.link"
        target.symlink_to(real, target_is_directory=True)
    elif case == "no-marker":
        target = _home(temp)
        (target / ".reactor-ci-bootstrap.json").unlink()
    elif case == "other-name":
        target = _home(temp, "important")
    else:
        target = temp / "reactor-ci.none"
    proc = _logout(temp, "" if case == "empty" else str(target))
    assert proc.returncode == 0
    assert "nothing to remove" in proc.stdout
    if case != "empty":
        assert target.exists() or target.is_symlink()
    assert not (tmp_path / "witness").exists()


def test_a_bad_logout_input_fails_the_main_step_at_once(tmp_path: Path) -> None:
    from tests.frontends.test_action_main_sh import run_action

    proc = run_action(tmp_path, REACTOR_API_KEY="rp_testkey0123456789abcdef", INPUT_LOGOUT="yes")
    assert proc.returncode == 2
    assert "::error title=Reactor auth::The logout input must be true or false" in proc.stderr
    assert not list((tmp_path / "runner-temp").glob("reactor-ci.*")), "nothing is set up for a bad input"


def test_main_js_hands_the_runners_inputs_to_the_script(tmp_path: Path) -> None:
    """The runner names inputs INPUT_API-KEY (dash kept); main.js maps them, and the key exists once."""
    node = require_tool("node", "apt-get install nodejs")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
        "INPUT_API-KEY": "  ",
        "INPUT_API-URL": "http://127.0.0.1:9",
        "INPUT_DOCKER-LOGIN": "",
        "INPUT_TOKEN-LIFETIME": "",
        "INPUT_PYTHON": "python3",
        "INPUT_LOGOUT": "true",
    }
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"):
        env[name] = str(tmp_path / name.lower())
        Path(env[name]).touch()
    proc = subprocess.run(
        [node, str(REPO_ROOT / "action" / "main.js")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "The api-key input is empty" in proc.stderr
    # a real key reaches reactor-ci (which refuses this look-alike), masked first and never shown
    env["INPUT_API-KEY"] = "ghp_notreactor1234567"
    proc = subprocess.run(
        [node, str(REPO_ROOT / "action" / "main.js")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = proc.stderr.splitlines()
    assert lines[0] == "::add-mask::ghp_notreactor1234567", lines
    assert proc.returncode == 2 and "api-key input" in proc.stderr
    shown = [line for line in lines if not line.startswith("::add-mask::")]
    assert "ghp_notreactor1234567" not in "\n".join(shown)
    # the set-up ran and saved its directory for the post step, the key in no file
    (home,) = temp.glob("reactor-ci.*")
    assert (tmp_path / "github_state").read_text() == f"home={home}\n"
    for name in ("github_env", "github_path", "github_state", "github_output"):
        assert "ghp_notreactor1234567" not in (tmp_path / name).read_text()


def test_the_marker_and_prefix_are_the_set_ups() -> None:
    """logout.sh (bash) mirrors two names of bundle/bootstrap.py: the set-up's marker and its prefix."""
    import re

    source = (REPO_ROOT / "bundle" / "bootstrap.py").read_text()
    names = dict(re.findall(r'^(MARKER|HOME_PREFIX) = "([^"]+)"$', source, flags=re.MULTILINE))
    assert set(names) == {"MARKER", "HOME_PREFIX"}
    text = SCRIPT.read_text()
    assert f'"$home/{names["MARKER"]}"' in text
    assert f'"${{temp%/}}"/{names["HOME_PREFIX"]}*' in text
