"""The wheel of this checkout that jobs install like a release: built once per test session.

``build_wheel`` is for session- or module-scoped fixtures that need the path; tests ask for the
``wheel`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repo import REPO_ROOT


def build_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once per test session (the GitLab and other-CI tests share it).

    Jobs install it like a release: parallel jobs must not build in one tree.
    """
    out = tmp_path_factory.getbasetemp() / "reactor-ci-wheel"
    built = sorted(out.glob("reactor_ci-*.whl"))
    if built:
        return built[0]
    src = tmp_path_factory.mktemp("wheel-src")
    shutil.copytree(REPO_ROOT / "reactor_ci", src / "reactor_ci", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", src / "pyproject.toml")
    (src / "README.md").write_text("reactor-ci\n")
    staging = tmp_path_factory.mktemp("wheel-out")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(staging), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = staging.glob("reactor_ci-*.whl")
    staging.rename(out)
    return out / wheel.name
