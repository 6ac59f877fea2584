"""Every fenced shell block in README.md and docs/ runs as a user would paste it, or says why not.

The rule, and the markers other pages use, are documented in docs/README.md. In short: the nearest
non-blank line above a ``sh``/``shell``/``bash``/``console`` fence is ``<!-- doc-test: run [OPTIONS] -->``
or ``<!-- doc-test: skip REASON -->``. A run block is executed under ``bash -euo pipefail`` in a fresh
HOME and working directory, against a real emulator, with the placeholders below replaced; options add
a fresh venv with a local package index and the release's git tag served locally (``venv``), a git
repository (``git``), a partner login (``login``), a private dockerd and the emulator's real registry
(``docker``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clirun import base_env
from tests.emulator_fixtures import EmulatorProcess
from tests.parts import missing, require_tool
from tests.repo import REPO_ROOT

pytest_plugins = ["tests.docker_fixtures"]

SHELL_LANGS = ("sh", "shell", "bash", "console", "zsh")
OPTIONS = ("venv", "git", "login", "docker")
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(run|skip)\b(.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    path: str
    line: int
    lang: str
    marker: str  # "run", "skip", or "" (none)
    args: str
    text: str

    @property
    def options(self) -> set[str]:
        return set(self.args.split())

    def script(self) -> str:
        body = textwrap.dedent(self.text)
        if self.lang != "console":
            return body
        # A console transcript: the commands are the `$ ` lines; the rest is output.
        return "\n".join(line[2:] for line in body.splitlines() if line.startswith("$ ")) + "\n"


def doc_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def shell_blocks() -> list[Block]:
    blocks = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            fence = _FENCE.match(lines[i])
            if not fence:
                i += 1
                continue
            start, lang = i, fence.group(2).lower()
            i += 1
            body = []
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            i += 1
            if lang not in SHELL_LANGS:
                continue
            above = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            marker = _MARKER.match(above)
            blocks.append(
                Block(
                    str(path.relative_to(REPO_ROOT)),
                    start + 1,
                    lang,
                    marker.group(1) if marker else "",
                    marker.group(2).strip() if marker else "",
                    "\n".join(body) + "\n",
                )
            )
    return blocks


BLOCKS = shell_blocks()
RUN_BLOCKS = [b for b in BLOCKS if b.marker == "run"]


def test_every_shell_block_is_marked() -> None:
    unmarked = [f"{b.path}:{b.line}" for b in BLOCKS if not b.marker]
    assert not unmarked, (
        f"shell blocks without a doc-test marker: {unmarked}. Put `<!-- doc-test: run -->` or "
        "`<!-- doc-test: skip REASON -->` on the line above each (docs/README.md)."
    )
    for b in BLOCKS:
        if b.marker == "skip":
            assert len(b.args) >= 10, f"{b.path}:{b.line}: a skip needs its reason"
        else:
            unknown = b.options - set(OPTIONS)
            assert not unknown, f"{b.path}:{b.line}: unknown doc-test options {sorted(unknown)} (known: {OPTIONS})"
    assert len(RUN_BLOCKS) >= 8, "most documented commands must run"


# -- placeholders, declared once --------------------------------------------------------------------------
def placeholders(emu: EmulatorProcess, workdir: Path) -> dict[str, str]:
    return {
        "rp_…": emu.partner_key,
        "rk_…": emu.app_key,
        "registry.reactor.inc/your-org": emu.registry,
        "FILES…": str(workdir / "app.py"),
    }


def substitute(script: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        script = script.replace(name, value)
    return script


# -- a package index and the release tag, as a user's machine would reach them ------------------------------
@pytest.fixture(scope="module")
def user_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """pip and git env: a pypiserver on loopback with the locked wheels and the extras' dependencies,
    and github.com/reactor/auth-action's release tag served from a local repository (insteadOf)."""
    from tests.e2e.test_gitlab_install import UPSTREAM, _packages, _upstream_clone, package_index
    from tests.wheel import build_wheel

    require_tool("git")
    root = tmp_path_factory.mktemp("user-network")
    packages = _packages(root, build_wheel(tmp_path_factory))
    # The extras' own dependencies, from this machine's configured mirror (what PyPI would serve).
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "-d",
            str(packages),
            "detect-secrets==1.5.0",
            "PyJWT[crypto]>=2.8",
            "cryptography>=42",
            "PyYAML>=6",
            "wheel",
            *_FAST_EXTRA,  # pyproject.toml's own `fast` requirements (markers evaluated here, as pip does)
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if got.returncode != 0:
        missing(f"cannot fill the local package index: {got.stderr[-800:]}")
    upstream = _upstream_clone(root)
    with package_index(packages) as index:
        yield {
            "PIP_CONFIG_FILE": "/dev/null",
            "PIP_INDEX_URL": index,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{upstream}.insteadOf",
            "GIT_CONFIG_VALUE_0": UPSTREAM,
        }


def _fast_extra() -> list[str]:
    import tomllib

    with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
        extra: list[str] = tomllib.load(fh)["project"]["optional-dependencies"]["fast"]
    return extra


_FAST_EXTRA = _fast_extra()


def _path_without_reactor_ci() -> str:
    dirs = [d for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if d]
    return os.pathsep.join(d for d in dirs if not (Path(d) / "reactor-ci").exists())


def _git_repo(workdir: Path) -> None:
    git = ["git", "-c", "user.email=docs@example.com", "-c", "user.name=docs", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=workdir, check=True)
    (workdir / "README.md").write_text("a project\n")
    subprocess.run([*git, "add", "-A"], cwd=workdir, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=workdir, check=True)
    for key, value in (("user.email", "docs@example.com"), ("user.name", "docs"), ("commit.gpgsign", "false")):
        subprocess.run(["git", "config", key, value], cwd=workdir, check=True)


@pytest.mark.real("doc blocks")
@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[f"{b.path}:{b.line}" for b in RUN_BLOCKS])
def test_run_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    require_tool("bash")
    opts = block.options
    emu: EmulatorProcess = request.getfixturevalue("emulator_with_registry" if "docker" in opts else "emulator")
    home, workdir, tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for d in (home, workdir, tmp):
        d.mkdir()
    (workdir / "app.py").write_text("print('hello')\n")
    env = base_env(home, emu.url, TMPDIR=str(tmp))
    env.pop("REACTOR_CI_RETRY_MAX_SECONDS", None)
    scripts_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([scripts_dir, env.get("PATH", "/usr/bin:/bin")])
    if "venv" in opts:
        network: dict[str, str] = request.getfixturevalue("user_network")
        venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        env.update(network)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), _path_without_reactor_ci()])
        env["VIRTUAL_ENV"] = str(venv)
    if "git" in opts:
        _git_repo(workdir)
    if "docker" in opts:
        dockerd = request.getfixturevalue("dockerd")
        env["DOCKER_HOST"] = str(dockerd.host)
        env.update({k: v for k, v in emu.env("partner").items() if k != "REACTOR_API_KEY"})
        (workdir / "hello.txt").write_text("hello\n")
        (workdir / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
        env["DOCKER_BUILDKIT"] = "0"  # the legacy builder: no buildx plugin needed, no network
    if "login" in opts:
        login = subprocess.run(
            [shutil.which("reactor-ci", path=env["PATH"]) or "reactor-ci", "login", "--docker-login"],
            env={**env, **emu.env("partner")},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert login.returncode == 0, login.stderr
    script = substitute(block.script(), placeholders(emu, workdir))
    try:
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", script],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        # A block that starts a detached emulator and fails before stopping it leaves nothing running.
        subprocess.run(
            [sys.executable, "-m", "reactor_ci", "emulator", "--stop"],
            env={**env, "PATH": os.pathsep.join([scripts_dir, env["PATH"]])},
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, (
        f"{block.path}:{block.line} failed ({proc.returncode}):\n{script}\n{proc.stdout}\n{proc.stderr}"
    )
