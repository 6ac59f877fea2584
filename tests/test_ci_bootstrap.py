"""reactor_ci/ci/bootstrap.py: the action's venv setup (stdlib only, run by path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reactor_ci.ci import bootstrap

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_fallback_reader_matches_tomllib() -> None:
    # Python 3.10 runners have no tomllib: the small reader must agree on our pyproject.
    text = (REPO_ROOT / "pyproject.toml").read_text()
    assert bootstrap._read_project_fallback(text) == bootstrap.read_project(REPO_ROOT / "pyproject.toml")


def test_fallback_reader_handles_inline_and_single_quotes() -> None:
    text = (
        "[build-system]\nrequires = ['x']\n\n[project]\nname = 'demo'\nversion = \"1.2\"\n"
        "dependencies = ['a>=1', \"b[c]>=2\"]\n\n[project.scripts]\n\"demo-x\" = 'demo.cli:main'\n"
    )
    assert bootstrap._read_project_fallback(text) == {
        "name": "demo", "version": "1.2", "dependencies": ["a>=1", "b[c]>=2"], "scripts": {"demo-x": "demo.cli:main"},
    }


def test_shebang_short_and_long(tmp_path: Path) -> None:
    assert bootstrap._shebang(Path("/venv/bin/python")) == "#!/venv/bin/python\n"
    long = Path("/x" * 70) / "python"
    head = bootstrap._shebang(long)
    assert head.startswith("#!/bin/sh\n'''exec' '")
    spaced = tmp_path / "with space" / "bin"
    spaced.mkdir(parents=True)
    python = spaced / "python"
    python.symlink_to(sys.executable)
    bootstrap.write_scripts(tmp_path / "bin", python, {"hello": "platform:python_version"})
    out = subprocess.run([str(tmp_path / "bin" / "hello")], capture_output=True, text=True, check=False)
    assert out.returncode == 1  # python_version() returns a str: sys.exit(str) prints it, exit 1
    assert out.stderr.strip() == sys.version.split()[0]


def test_export_to_github_uses_heredocs_and_never_exports_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file, path_file = tmp_path / "env", tmp_path / "path"
    env_file.touch()
    path_file.touch()
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    monkeypatch.setenv("GITHUB_PATH", str(path_file))
    monkeypatch.setenv("REACTOR_API_URL", "http://127.0.0.1:1")
    bootstrap.export_to_github(tmp_path / "bin", ["REACTOR_API_URL", "NOT_SET"])
    assert path_file.read_text() == f"{tmp_path / 'bin'}\n"
    lines = env_file.read_text().splitlines()
    assert lines[0].startswith("REACTOR_API_URL<<ghadelimiter_") and lines[1] == "http://127.0.0.1:1"
    assert lines[2] == lines[0].split("<<")[1] and len(lines) == 3
    with pytest.raises(ValueError):
        bootstrap.export_to_github(tmp_path / "bin", ["REACTOR_API_KEY"])


def test_bootstrap_end_to_end_then_reuse(tmp_path: Path) -> None:
    """A real venv with the real dependencies (needs PyPI or a mirror, like the action)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "GITHUB_"))}
    env["REACTOR_API_KEY"] = "rp_must_not_reach_pip_0000"
    cmd = [sys.executable, "-I", str(REPO_ROOT / "reactor_ci/ci/bootstrap.py"), "--venv", str(tmp_path / "v"),
           "--bin", str(tmp_path / "bin"), "--json"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=300)
    if first.returncode != 0 and "could not install" in first.stderr:
        from tests.parts import missing

        missing(f"no package index reachable: {first.stderr[-500:]}")
    assert first.returncode == 0, first.stderr
    info = json.loads(first.stdout)
    assert info["reused"] is False and "reactor-ci" in info["scripts"]
    version = subprocess.run([str(tmp_path / "bin" / "reactor-ci"), "--version"], capture_output=True, text=True,
                             env=env, check=False)
    assert version.returncode == 0 and "reactor-ci" in version.stdout + version.stderr
    meta = subprocess.run([str(tmp_path / "v" / "bin" / "python"), "-c",
                           "import importlib.metadata as m; print(m.version('reactor-ci'))"],
                          capture_output=True, text=True, check=True)
    assert meta.stdout.strip() == info["version"]
    # the user's python is untouched: only our scripts in --bin
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == sorted(info["scripts"])
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(second.stdout)["reused"] is True


def test_refuses_a_non_source_tree(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-I", str(REPO_ROOT / "reactor_ci/ci/bootstrap.py"), "--venv", str(tmp_path / "v"),
         "--bin", str(tmp_path / "b"), "--source", str(tmp_path)],
        capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"], "GITHUB_ACTIONS": "true"},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("::error title=Reactor auth setup::")
