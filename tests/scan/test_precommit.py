"""The hooks in .pre-commit-hooks.yaml, run by real pre-commit (`try-repo`) in temporary repos.

pre-commit builds each hook's virtualenv with pip once; PRE_COMMIT_HOME is
shared by the whole module so that cost is paid once per hook language env.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo

pytestmark = pytest.mark.real("pre-commit")


@pytest.fixture(scope="module")
def pc_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_tool("git")
    require_tool("pre-commit", "pip install pre-commit")
    yield str(tmp_path_factory.mktemp("pre-commit-home"))


def try_repo(
    pc_home: str, repo: str, hook: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PRE_COMMIT_HOME": pc_home, "PRE_COMMIT_COLOR": "never", **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        ["pre-commit", "try-repo", REPO_ROOT, hook, "--verbose", *extra],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _write(repo: str, rel: str, text: str) -> None:
    with open(os.path.join(repo, rel), "w", encoding="utf-8") as fh:
        fh.write(text)


def test_key_hook_blocks_planted_key_passes_placeholder_and_allowlist(pc_home: str, tmp_path: os.PathLike[str]) -> None:
    repo = init_repo(os.path.join(str(tmp_path), "r"))
    key = fake_key("rp_")
    _write(repo, "leak.py", f"import os\nREACTOR_API_KEY = '{key}'\n")
    _write(repo, "docs.md", "Set `REACTOR_API_KEY=rk_...` or rk_your_key_here; rp_filter = 1\n")
    _write(repo, "test_fixture.py", f"KEY = '{fake_key('rk_')}'  # pragma: allowlist secret\n")
    git(repo, "add", ".")

    # Staged files, as `git commit` would run it: the planted key blocks.
    proc = try_repo(pc_home, repo, "reactor-ci-scan")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "leak.py:2:20: reactor-partner-key" in out
    assert key not in out and "rp_…" in out

    # The placeholder and the allowlisted line alone pass.
    proc = try_repo(pc_home, repo, "reactor-ci-scan", "--files", "docs.md", "test_fixture.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


def test_installed_hook_refuses_a_real_commit(pc_home: str, tmp_path: os.PathLike[str]) -> None:
    """`pre-commit install` + `git commit`, the way users run it (this repo's committed HEAD)."""
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    if rev.returncode != 0:
        pytest.skip("the reactor-ci checkout is not a git repository")
    repo = init_repo(os.path.join(str(tmp_path), "r"))
    _write(
        repo,
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {REPO_ROOT}\n  rev: {rev.stdout.strip()}\n  hooks:\n  - id: reactor-ci-scan\n",
    )
    env = {**os.environ, "PRE_COMMIT_HOME": pc_home, "PRE_COMMIT_COLOR": "never"}
    subprocess.run(["pre-commit", "install"], cwd=repo, env=env, check=True, capture_output=True, timeout=120)
    key = fake_key("rk_")
    _write(repo, "app.js", f"const key = '{key}';\n")
    git(repo, "add", ".")
    commit = subprocess.run(
        ["git", "commit", "-m", "add app"], cwd=repo, env=env, capture_output=True, text=True, timeout=900
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert "app.js:1:14: reactor-app-key" in out and key not in out
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True).returncode != 0  # no commit
    _write(repo, "app.js", "const key = process.env.REACTOR_APP_KEY;\n")
    git(repo, "add", ".")
    commit = subprocess.run(
        ["git", "commit", "-m", "add app"], cwd=repo, env=env, capture_output=True, text=True, timeout=900
    )
    assert commit.returncode == 0, commit.stdout + commit.stderr


def test_history_hook_on_pre_push_finds_removed_key(pc_home: str, tmp_path: os.PathLike[str]) -> None:
    repo = init_repo(os.path.join(str(tmp_path), "r"))
    _write(repo, "a.txt", "clean\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    base = git(repo, "rev-parse", "HEAD").strip()
    key = fake_key("rk_")
    _write(repo, "a.txt", f"clean\n{key}\n")
    git(repo, "commit", "-qam", "leak")
    _write(repo, "a.txt", "clean\n")
    git(repo, "commit", "-qam", "remove")
    head = git(repo, "rev-parse", "HEAD").strip()
    proc = try_repo(
        pc_home, repo, "reactor-ci-scan-history", "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", head
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "a.txt:2:1: reactor-app-key" in out and key not in out
    proc = try_repo(
        pc_home, repo, "reactor-ci-scan-history", "--hook-stage", "pre-push", "--from-ref", "HEAD~1", "--to-ref", head
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_detect_secrets_hook_blocks_new_key(pc_home: str, tmp_path: os.PathLike[str]) -> None:
    repo = init_repo(os.path.join(str(tmp_path), "r"))
    key = fake_key("rp_")
    _write(repo, "settings.yaml", f"reactor:\n  key: {key}\n")
    _write(repo, "ok.yaml", f"reactor:\n  key: {fake_key('rk_')}  # pragma: allowlist secret\n")
    git(repo, "add", ".")
    proc = try_repo(pc_home, repo, "reactor-ci-detect-secrets", "--files", "settings.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Secret Type: Reactor API Key" in out
    assert "Location:    settings.yaml:2" in out
    proc = try_repo(pc_home, repo, "reactor-ci-detect-secrets", "--files", "ok.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_manifest_is_valid(pc_home: str) -> None:
    proc = subprocess.run(
        ["pre-commit", "validate-manifest", os.path.join(REPO_ROOT, ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    with open(os.path.join(REPO_ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        hooks = {h["id"]: h for h in yaml.safe_load(fh)}
    assert set(hooks) == {"reactor-ci-scan", "reactor-ci-scan-history", "reactor-ci-detect-secrets"}
    key_hook = hooks["reactor-ci-scan"]
    assert key_hook["pass_filenames"] is True and key_hook["require_serial"] is False
    assert hooks["reactor-ci-scan-history"]["stages"][0] == "pre-push"
    assert "detect-secrets==1.5.0" in hooks["reactor-ci-detect-secrets"]["additional_dependencies"]
