"""Issue 19.5: every file read from a user-controlled place is non-blocking, regular, size-capped.

``config.json`` as a symlink to /dev/zero, a FIFO, or a huge file: the real
``doctor``, ``docker-login`` and ``logout`` finish in bounded time with a clear
error, and ``logout`` removes the credentials file (key and token) FIRST,
whatever else fails, then reports the rest. Same for a scan baseline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clirun import base_env, run
from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret


def _zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _huge(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NULs, over any sane config


HOSTILE: dict[str, Callable[[Path], None]] = {"dev-zero": _zero, "fifo": _fifo, "huge": _huge}


def _logged_in(emulator: EmulatorProcess, home: Path) -> dict[str, str]:
    env = base_env(home, emulator.url, REACTOR_API_KEY=emulator.partner_key)
    env["REACTOR_CREDENTIALS"] = str(home / "creds" / "credentials")
    env["DOCKER_CONFIG"] = str(home / "docker")
    result = run(["login"], env)
    assert result.code == 0, result.output
    (home / "docker").mkdir(mode=0o700)
    return env


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_logout_removes_the_credentials_first_and_reports_the_config(
    emulator: EmulatorProcess, tmp_path: Path, kind: str
) -> None:
    env = _logged_in(emulator, tmp_path)
    HOSTILE[kind](tmp_path / "docker" / "config.json")
    result = run(["logout"], env, timeout=30)
    assert not (tmp_path / "creds" / "credentials").exists(), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    assert result.code == 2, result.output  # the credentials are gone; the config is reported as bad input
    assert "config.json" in result.output
    assert "not a regular file" in result.output or "larger than" in result.output
    assert_no_secret([result.output], [emulator.partner_key])


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("command", [["docker-login"], ["doctor"]])
def test_commands_refuse_a_hostile_config_in_bounded_time(
    emulator: EmulatorProcess, tmp_path: Path, kind: str, command: list[str]
) -> None:
    env = _logged_in(emulator, tmp_path)
    HOSTILE[kind](tmp_path / "docker" / "config.json")
    result = run(command, env, timeout=30)
    assert result.code in (2, 5) and "Traceback" not in result.output, result.output
    assert "config.json" in result.output


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_baseline_is_bad_input(tmp_path: Path, kind: str) -> None:
    baseline = tmp_path / "baseline.json"
    HOSTILE[kind](baseline)
    (tmp_path / "clean.txt").write_text("nothing here\n")
    result = run(["scan", "--baseline", str(baseline), str(tmp_path / "clean.txt")], base_env(tmp_path), timeout=30)
    assert result.code == 2 and "Traceback" not in result.output, result.output
    assert "baseline" in result.output
