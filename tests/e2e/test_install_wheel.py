"""Install as users do, never editable: the built sdist and wheel, into clean venvs.

* ``python -m build`` makes the sdist and wheel from a copy of this checkout, and
  ``twine check --strict`` accepts both (what the release workflow runs);
* plain: ``pip install reactor_ci-*.whl`` into a fresh venv, OFFLINE -- its
  dependencies come from the action bundle (``--no-index --find-links
  bundle/wheels``), so the lock alone satisfies a plain install;
  ``reactor-ci --version`` prints the package version and ``reactor-ci status``
  with no credentials exits 3;
* ``[all]``: the same wheel with every extra (from the package index pip is
  configured with), and ``reactor-ci emulator --help`` works.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.parts import missing
from tests.repo import REPO_ROOT

pytestmark = pytest.mark.slow  # builds the sdist and wheel, installs into clean venvs


def _version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"', (REPO_ROOT / "reactor_ci" / "__init__.py").read_text(), re.M)
    assert match
    return match.group(1)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist + wheel of this checkout, built like the release workflow does (``python -m build``)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("reactor_ci", "pyproject.toml", "README.md"):
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        if "No module named build" in proc.stderr:
            missing("python -m build: pip install build (dev extras)")
        if "Could not find a version" in proc.stdout + proc.stderr or "No matching distribution" in proc.stderr:
            missing(f"no package index for the build backend: {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("reactor_ci-*-py3-none-any.whl")
    return wheel


def _clean_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def _user_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell: no Reactor, CI or Docker variables, an empty HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    drop = ("REACTOR_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_", "DOCKER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in ("CI", "VIRTUAL_ENV")}
    env["HOME"] = str(home)
    return env


def test_sdist_and_wheel_pass_twine_check_strict(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert any(f.endswith(".tar.gz") for f in files) and any(f.endswith("-py3-none-any.whl") for f in files), files
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, check=False
    )
    if "No module named twine" in proc.stderr:
        missing("twine: pip install twine (dev extras)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == len(files)


def test_plain_wheel_offline_from_the_lock(tmp_path: Path, dist: Path) -> None:
    bin_dir = _clean_venv(tmp_path / "venv")
    env = _user_env(tmp_path)
    install = subprocess.run(
        [
            str(bin_dir / "pip"),
            "install",
            "--quiet",
            "--isolated",
            "--no-index",
            "--find-links",
            str(REPO_ROOT / "bundle" / "wheels"),
            str(_wheel(dist)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    version = subprocess.run(
        [str(bin_dir / "reactor-ci"), "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert version.returncode == 0
    assert version.stdout.strip() == f"reactor-ci {_version()}"
    status = subprocess.run(
        [str(bin_dir / "reactor-ci"), "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert status.returncode == 3, status.stdout + status.stderr
    assert "Traceback" not in status.stderr
    # the plain launcher of the credential helper was installed with the wheel
    assert (bin_dir / "docker-credential-reactor").is_file()
    frozen = subprocess.run(
        [str(bin_dir / "pip"), "freeze", "--all"], env=env, capture_output=True, text=True, check=True
    ).stdout
    lock = (REPO_ROOT / "bundle" / "requirements.txt").read_text()
    for line in frozen.splitlines():
        name = line.split("==")[0].lower().replace("_", "-")
        if "==" in line and name not in ("reactor-ci", "pip", "setuptools"):
            assert f"{name}=={line.split('==')[1]}" in lock, f"{line}: not the locked version"


def test_all_extras_wheel(tmp_path: Path, dist: Path) -> None:
    bin_dir = _clean_venv(tmp_path / "venv")
    env = _user_env(tmp_path)
    install = subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", f"{_wheel(dist)}[all]"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if install.returncode != 0 and ("No matching distribution" in install.stderr or "Could not find" in install.stderr):
        missing(f"no package index for the extras: {install.stderr[-500:]}")
    assert install.returncode == 0, install.stdout + install.stderr
    version = subprocess.run(
        [str(bin_dir / "reactor-ci"), "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert version.stdout.strip() == f"reactor-ci {_version()}"
    helped = subprocess.run(
        [str(bin_dir / "reactor-ci"), "emulator", "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert "--state-file" in helped.stdout
    status = subprocess.run(
        [str(bin_dir / "reactor-ci"), "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert status.returncode == 3
