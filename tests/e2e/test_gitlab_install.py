"""The GitLab component's install lines, under gitlab-ci-local, against a package index on loopback.

A real ``pypiserver`` on 127.0.0.1 serves what PyPI will: the built reactor-ci
wheel and EXACTLY the locked dependency wheels (bundle/wheels, the one lock), plus
setuptools for building from git. pip's own configuration is switched off
(``PIP_CONFIG_FILE=/dev/null``), so nothing else can be reached:

* the component's DEFAULT install (this release's git tag of
  github.com/reactor/auth-action, rewritten by git's ``insteadOf`` to a local
  repository holding this checkout at that tag) builds and installs, and its
  dependencies resolve within the lock;
* ``reactor-ci==VERSION`` -- the one-line switch at the first PyPI release --
  installs the built wheel from the index, as PyPI will serve it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_gitlab_ci_local import COMPONENT, assert_no_leak, run_pipeline
from tests.emulator_fixtures import EmulatorProcess
from tests.parts import missing, require_tool
from tests.repo import REPO_ROOT
from tests.wheel import build_wheel

UPSTREAM = "https://github.com/reactor/auth-action"

pytestmark = pytest.mark.real("gitlab-ci-local")


def _version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def package_index(packages: Path) -> Iterator[str]:
    """pypiserver on loopback serving ``packages``, no fallback to PyPI; stopped by its pid."""
    server = shutil.which("pypi-server", path=str(Path(sys.executable).parent)) or shutil.which("pypi-server")
    if server is None:
        missing("pypi-server not found: pip install pypiserver (dev extras)")
        raise AssertionError("unreachable")
    port = _free_port()
    log = packages.parent / "pypiserver.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [server, "run", "-i", "127.0.0.1", "-p", str(port), "--disable-fallback", str(packages)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"pypiserver did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _packages(tmp_path: Path, wheel: Path) -> Path:
    packages = tmp_path / "packages"
    packages.mkdir()
    shutil.copy2(wheel, packages)
    for locked in (REPO_ROOT / "bundle" / "wheels").glob("*.whl"):
        shutil.copy2(locked, packages)
    # Building from the git tag needs the build backend, as it would from PyPI.
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(packages),
            "setuptools>=77",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if got.returncode != 0:
        missing(f"no setuptools wheel for the local index: {got.stderr[-500:]}")
    return packages


def _upstream_clone(tmp_path: Path) -> Path:
    """github.com/reactor/auth-action as it will be at the release tag: this checkout, tagged."""
    repo = tmp_path / "auth-action"
    repo.mkdir()
    shutil.copytree(REPO_ROOT / "reactor_ci", repo / "reactor_ci", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, repo / name)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "release"], cwd=repo, check=True)
    subprocess.run([*git, "tag", f"v{_version()}"], cwd=repo, check=True)
    return repo


def test_default_install_and_the_pypi_line_against_a_local_index(
    tmp_path: Path, emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require_tool("git")
    wheel = build_wheel(tmp_path_factory)
    upstream = _upstream_clone(tmp_path)
    with package_index(_packages(tmp_path, wheel)) as index:
        ci_yaml = f"""\
include:
  - component: {COMPONENT}
    inputs:
      api-url: {emulator.url}
  - component: {COMPONENT}
    inputs:
      name: reactor-pypi
      api-url: {emulator.url}
      install: reactor-ci=={_version()}

variables:
  # pip sees the local index only: no pip.conf, no other index, no find-links
  PIP_CONFIG_FILE: /dev/null
  PIP_INDEX_URL: {index}
  PIP_NO_CACHE_DIR: "1"
  PIP_FIND_LINKS: ""
  PIP_EXTRA_INDEX_URL: ""
  # the release tag on GitHub, served from a local repository
  GIT_CONFIG_COUNT: "1"
  GIT_CONFIG_KEY_0: url.file://{upstream}.insteadOf
  GIT_CONFIG_VALUE_0: {UPSTREAM}

default-install:
  extends: .reactor-auth
  script:
    - reactor-ci status >/dev/null && echo "OUT status=ok"
    - echo "OUT version=$(reactor-ci --version)"
    - echo "OUT httpx=$("$REACTOR_CI_DIR/venv/bin/python" -c 'import httpx; print(httpx.__version__)')"

pypi-line:
  extends: .reactor-pypi
  script:
    - reactor-ci status >/dev/null && echo "OUT status=ok"
    - echo "OUT version=$(reactor-ci --version)"
"""
        run = run_pipeline(tmp_path, ci_yaml, {"REACTOR_API_KEY": emulator.partner_key})
    assert run.rc == 0, run.out
    lock = (REPO_ROOT / "bundle" / "requirements.txt").read_text()
    for job in ("default-install", "pypi-line"):
        got = run.outputs(job)
        assert got.get("status") == "ok", run.job(job)
        assert got["version"] == f"reactor-ci {_version()}"
    assert f"httpx=={run.outputs('default-install')['httpx']}" in lock
    assert_no_leak(run, {"partner key": emulator.partner_key})
