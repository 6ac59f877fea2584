"""Every install line comes from one constant (reactor_ci/release.py), and each one installs.

* The docs, the README and the GitLab component name reactor-ci only as :func:`requirement` spells it
  (or as the release page's ``reactor-ci==X.Y.Z`` placeholder).
* Every line the tool prints in a fix (:func:`pip_install` with the extras it uses), pasted into a
  fresh venv as a user would, installs from this release's git tag (served locally through git's
  ``insteadOf``) and a package index on loopback; so does the ``reactor-ci==X`` form the constant
  switches to at the first index release.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reactor_ci import __version__, release
from tests.docs.test_blocks import _path_without_reactor_ci, user_network  # noqa: F401  (a fixture)
from tests.repo import REPO_ROOT

# The extras any message or doc names.
EXTRAS = ("", "docker", "scan", "emulator", "all", "fast")
_MENTION = re.compile(r"reactor-ci(?:\[[a-z,]+\])?\s*(?:@\s*git\+[^\s\"'`)]+|==[^\s\"'`)]+)")
_PLACEHOLDERS = {"reactor-ci==VERSION", "reactor-ci==X.Y.Z", "reactor-ci==X"}


def _texts() -> dict[str, str]:
    files = [
        REPO_ROOT / "README.md",
        *sorted((REPO_ROOT / "docs").glob("*.md")),
        *sorted((REPO_ROOT / "templates").glob("*.yml")),
    ]
    return {str(p.relative_to(REPO_ROOT)): p.read_text(encoding="utf-8") for p in files}


def test_every_mention_is_the_constants() -> None:
    allowed = {release.requirement(e) for e in EXTRAS}
    wrong = []
    for name, text in _texts().items():
        for match in _MENTION.finditer(text):
            found = re.sub(r"\s+", " ", match.group(0))
            if found not in allowed and found not in _PLACEHOLDERS:
                wrong.append(f"{name}: {found}")
    assert not wrong, f"install lines that are not reactor_ci.release.requirement(): {wrong}"


def test_no_bare_pip_install_of_the_unreleased_name() -> None:
    start = re.compile(r"pip install(?: -[-\w]+)* ['\"]?reactor-ci(?:\[[a-z,]+\])?")
    for name, text in _texts().items():
        for match in start.finditer(text):
            after = text[match.end() : match.end() + 4]
            assert re.match(r"\s*(@|==)", after), (
                f"{name}: `{match.group(0)}` names no source (no release on the index yet)"
            )


def test_component_default_install_is_the_constant() -> None:
    text = (REPO_ROOT / "templates" / "reactor-auth.yml").read_text()
    spec = yaml.safe_load(text.split("\n---\n", 1)[0])
    assert spec["spec"]["inputs"]["install"]["default"] == release.requirement()


def test_the_constant_follows_the_version() -> None:
    assert release.requirement() == f"reactor-ci @ git+{release.REPOSITORY}@v{__version__}"
    assert release.requirement("docker", on_index=True) == f"reactor-ci[docker]=={__version__}"
    assert release.pip_install("scan") == f'pip install "reactor-ci[scan] @ git+{release.REPOSITORY}@v{__version__}"'


def _lines(on_index: bool) -> list[str]:
    lines = [release.pip_install(e, on_index=on_index) for e in EXTRAS]
    lines.append(release.pip_install(options="--force-reinstall", on_index=on_index))  # the doctor's fix
    return lines


@pytest.mark.real("pypiserver + git")
@pytest.mark.parametrize("on_index", [False, True], ids=["git-tag", "package-index"])
def test_each_printed_line_installs(tmp_path: Path, user_network: dict[str, str], on_index: bool) -> None:  # noqa: F811
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "REACTOR_", "VIRTUAL_ENV"))}
    env.update(user_network)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{_path_without_reactor_ci()}", VIRTUAL_ENV=str(venv), HOME=str(tmp_path)
    )
    for line in _lines(on_index):
        proc = subprocess.run(
            ["bash", "-euc", line], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    version = subprocess.run(
        [str(venv / "bin" / "reactor-ci"), "--version"], capture_output=True, text=True, env=env, check=False
    )
    assert version.stdout.strip() == f"reactor-ci {__version__}", version
    imports = "import docker, detect_secrets, jwt, yaml, httpx"
    assert subprocess.run([str(venv / "bin" / "python"), "-c", imports], env=env, check=False).returncode == 0
