"""Issue 19.8: a closed stdin (or stdout) gets the protocol's answer, never a Python error.

docker-credential-helpers answers a request without a server URL with
``no credentials server URL`` and exit 1 (credentials.Get/Erase); a closed
stdin carries no server URL. The real installed helper runs with fd 0 (or 1)
closed, as ``docker-credential-reactor get <&-`` does.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.adversarial.test_store import KEY, TOKEN, _good, _write
from tests.clirun import base_env

MISSING = "no credentials server URL"


def _argv() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "docker-credential-reactor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reactor_ci.docker.helper"]


def _env(home: Path) -> dict[str, str]:
    creds = home / ".reactor" / "credentials"
    _write(creds, _good())
    return base_env(
        home, "http://127.0.0.1:9", REACTOR_CREDENTIALS=str(creds), REACTOR_CI_HELPER_LOG=str(home / "h.log")
    )


@pytest.mark.parametrize("action", ["get", "store", "erase"])
def test_closed_stdin_is_a_request_without_a_server_url(tmp_path: Path, action: str) -> None:
    argv = ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *_argv(), action]
    proc = subprocess.run(argv, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (1, MISSING + "\n"), proc
    assert "Error" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("stdin", ["", "\n", "   \n"])
def test_an_empty_request_is_the_same_answer(tmp_path: Path, stdin: str) -> None:
    proc = subprocess.run(
        [*_argv(), "get"], input=stdin, env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (1, MISSING + "\n"), proc


def test_closed_stdout_exits_without_a_traceback(tmp_path: Path) -> None:
    argv = ["/bin/sh", "-c", 'exec "$@" >&-', "sh", *_argv(), "get"]
    proc = subprocess.run(
        argv, input="registry.reactor.inc", env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc
    assert TOKEN not in proc.stderr and KEY not in proc.stderr
