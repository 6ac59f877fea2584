"""Docker engine unreachable (issue 10.6): exit 5 naming the socket tried, where it came from, and the fix.

Runs the real CLI against the real emulator; the engine is a socket path that
does not exist (no dockerd needed), or a closed loopback port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clirun import base_env, run
from tests.leaks import assert_no_secret


@pytest.fixture
def logged_in(emulator: Any, tmp_path: Path) -> dict[str, str]:
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key)
    assert run(["login"], env).code == 0
    return env


def test_docker_host_down_names_it_and_the_fix(emulator: Any, logged_in: dict[str, str], tmp_path: Path) -> None:
    socket = tmp_path / "no-such-docker.sock"
    env = {**logged_in, "DOCKER_HOST": f"unix://{socket}"}
    result = run(["push", f"{emulator.registry}/model:v1"], env)
    assert result.code == 5, result.output
    assert str(socket) in result.stderr and "from $DOCKER_HOST" in result.stderr
    assert "fix:" in result.stderr and "DOCKER_HOST" in result.stderr.split("fix:", 1)[1]
    assert "Traceback" not in result.output
    assert_no_secret([result.output], [emulator.partner_key])


def test_tcp_engine_down_names_the_address(emulator: Any, logged_in: dict[str, str]) -> None:
    env = {**logged_in, "DOCKER_HOST": "tcp://127.0.0.1:9"}
    result = run(["push", f"{emulator.registry}/model:v1"], env)
    assert result.code == 5, result.output
    assert "127.0.0.1:9" in result.stderr and "docker version" in result.stderr
