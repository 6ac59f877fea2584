"""The README's first command: `reactor-ci demo` runs the main job end to end.

With the real parts here (dockerd, docker-registry, root, the emulator extra)
it also pushes two images through the credential helper, the second after the
first registry token's half-life; without them it says what is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reactor_ci.demo import docker_part_missing
from tests.parts import missing

KEY_OR_JWT = re.compile(r"r[pk]_[A-Za-z0-9]{20,}|eyJ[\w-]+\.[\w-]+\.[\w-]+|rrt_[A-Za-z0-9]{20,}")
MAIN_STEPS = 8
DOCKER_STEPS = 3  # two pushes + the refresh check
# Without the venv's bin: `scripts/demo` runs .venv/bin/reactor-ci exactly so.
BARE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _demo(*args: str, path: str = BARE_PATH, timeout: float = 240) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "DOCKER_", "GITHUB_"))}
    env["PATH"] = path
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def _assert_main_steps(output: str) -> None:
    assert "every step behaved as expected" in output
    assert "Logged in to Reactor as sandbox" in output
    assert "clamped" in output
    assert "reactor-partner-key" in output  # the planted key was found, redacted
    assert KEY_OR_JWT.findall(output) == []
    # Its own helper is on the PATH it gives the commands: no warning about it.
    assert "docker-credential-reactor is not on PATH" not in output
    assert not re.search(r"warning:.*PATH", output)


@pytest.mark.real("dockerd + docker-registry")
def test_demo_pushes_through_the_helper_and_refreshes_at_half_life() -> None:
    reason = docker_part_missing()
    if reason:
        missing(reason)
    code, output, elapsed = _demo()
    assert code == 0, output
    _assert_main_steps(output)
    assert output.count("(as expected)") == MAIN_STEPS + DOCKER_STEPS, output
    assert output.count("$ docker push 127.0.0.1:") == 2
    assert "the helper got 1 new registry token from the API" in output
    assert "Skipped the Docker part" not in output
    assert elapsed < 90, f"the demo took {elapsed:.0f} s (aim: under ~1 min)"


@pytest.mark.slow
def test_demo_says_why_it_skips_the_docker_part(tmp_path: Path) -> None:
    # A PATH with no docker-registry and no dockerd: the main steps still run.
    (tmp_path / "bin").mkdir()
    code, output, _ = _demo(path=str(tmp_path / "bin"))
    assert code == 0, output
    _assert_main_steps(output)
    assert output.count("(as expected)") == MAIN_STEPS
    assert "Skipped the Docker part" in output
    assert "docker-registry" in output and "apt-get install" in output


def test_demo_with_registry_refuses_at_start_without_the_parts(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    code, output, _ = _demo("--with-registry", path=str(tmp_path / "bin"))
    assert code == 2, output
    assert "docker-registry" in output and "Emulator ready" not in output
    assert "Traceback" not in output
