"""Issue 8.3: a plain ``pip install reactor-ci`` (no extras) that works.

Installed as users install it: the built wheel into a clean venv, never
editable, without PyJWT or cryptography. ``demo`` and the emulator's Reactor
API work (stdlib HS256 JWTs); ``--with-registry`` refuses AT START with exit 2
naming the extra; the realm says what it needs instead of answering 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reactor_ci.emulator.realm import EXTRA
from reactor_ci.release import pip_install
from tests.parts import missing
from tests.wheel import build_wheel

pytestmark = pytest.mark.real("a package index for the wheel's dependencies")


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/local/bin:/usr/bin:/bin"])
    return env


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    wheel = build_wheel(tmp_path_factory)
    venv = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        missing(f"could not install the wheel's dependencies (no package index?): {install.stderr[-500:]}")
    yield venv


def test_the_plain_venv_has_no_extras(plain_venv: Path) -> None:
    for module in ("jwt", "cryptography", "docker", "detect_secrets"):
        probe = subprocess.run([str(plain_venv / "bin" / "python"), "-c", f"import {module}"], capture_output=True)
        assert probe.returncode != 0, f"{module} is installed: this is not a plain install"
    # Installed from the wheel, not this checkout.
    where = subprocess.run(
        [str(plain_venv / "bin" / "python"), "-c", "import reactor_ci; print(reactor_ci.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert str(plain_venv) in where.stdout


def test_demo_exits_0_without_extras(plain_venv: Path) -> None:
    proc = subprocess.run(
        [str(plain_venv / "bin" / "reactor-ci"), "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(plain_venv),
        stdin=subprocess.DEVNULL,
        cwd="/",
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "every step behaved as expected" in output
    assert "Minted a JWT" in output
    # It says why the Docker part is skipped and how to get it.
    assert "Skipped the Docker part" in output and EXTRA in output
    assert "Traceback" not in output


def test_with_registry_refuses_at_start(plain_venv: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    for cmd in (
        ["emulator", "--with-registry", "--state-file", str(state)],
        ["emulator", "--with-registry", "--detach", "--state-file", str(state)],
    ):
        proc = subprocess.run(
            [str(plain_venv / "bin" / "reactor-ci"), *cmd],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(plain_venv),
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2, proc.stderr
        assert pip_install("emulator") in proc.stderr  # the release's install line (reactor_ci/release.py)
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        assert not state.exists()  # never ready, never half-working


def test_plain_emulator_serves_tokens_and_names_the_extra_for_the_realm(plain_venv: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    reactor_ci = str(plain_venv / "bin" / "reactor-ci")
    env = _env(plain_venv)
    up = subprocess.run(
        [reactor_ci, "emulator", "--detach", "--state-file", str(state_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads(state_file.read_text())
        with httpx.Client(base_url=state["url"], timeout=10, trust_env=False) as client:
            r = client.post("/tokens", headers={"Reactor-API-Key": state["app_key"]}, json={"expires_after": 60})
            assert r.status_code == 200, r.text
            checked = client.post("/_emulator/verify-jwt", json={"jwt": r.json()["jwt"]}).json()
            assert checked["valid"] is True and checked["claims"]["org"] == "sandbox"
            realm = client.get("/registry/auth", params={"service": state["service"]}, auth=("sandbox", "rrt_x"))
            assert realm.status_code == 501 and EXTRA in realm.json()["details"]
            cert = client.get("/_emulator/realm-cert")
            assert cert.status_code == 501 and EXTRA in cert.json()["error"]["message"]
        # The real reactor-ci client of the plain install mints a JWT too.
        token = subprocess.run(
            [reactor_ci, "token", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, "REACTOR_API_URL": state["url"], "REACTOR_API_KEY": state["app_key"]},
        )
        assert token.returncode == 0, token.stderr
        assert json.loads(token.stdout)["jwt"].count(".") == 2
    finally:
        down = subprocess.run(
            [reactor_ci, "emulator", "--stop", "--state-file", str(state_file)], capture_output=True, text=True, env=env
        )
    assert down.returncode == 0, down.stderr
    assert not state_file.exists()
