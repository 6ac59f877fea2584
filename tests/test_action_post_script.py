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
