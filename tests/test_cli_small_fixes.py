"""Issue 20's small ones, each on the real CLI: `reactor-ci-scan --version`, `-q` after the command,
push progress never past 100 %, the pre-push hook's wording, one shape of an error line."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import __version__
from reactor_ci.docker import push
from tests.clirun import base_env, run
from tests.parts import require_tool
from tests.scan_helpers import fake_key, git, init_repo, run_cli


def test_scan_version_exits_0() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"reactor-ci-scan {__version__}"


@pytest.mark.parametrize("argv", [["logout", "-q"], ["-q", "logout"], ["logout", "--quiet"]])
def test_quiet_after_or_before_the_command(tmp_path: Path, argv: list[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run(argv, base_env(home))
    assert result.code == 0, result.stderr
    assert result.stderr == ""  # "Nothing to remove at ..." is info: silenced
    loud = run(["logout"], base_env(home))
    assert "Nothing to remove" in loud.stderr


def test_quiet_after_a_command_keeps_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run(["login", "-q"], base_env(home, "http://127.0.0.1:9", REACTOR_API_KEY=""))
    assert result.code == 2
    assert result.stderr.startswith("reactor-ci: error: REACTOR_API_KEY is empty or not set")


def _plain(current: int, total: int) -> str:
    out = io.StringIO()
    push.Progress(out, mode="plain", interval=0).update(
        {"status": "Pushing", "id": "l1", "progressDetail": {"current": current, "total": total}}
    )
    return out.getvalue()


def test_progress_past_the_engines_estimate_shows_bytes_sent() -> None:
    assert _plain(512, 16) == "l1: Pushing 512B\n"
    assert _plain(8, 16) == "l1: Pushing 8B/16B (50%)\n"
    assert _plain(16, 16) == "l1: Pushing 16B/16B (100%)\n"


@given(st.integers(min_value=-(10**12), max_value=10**13), st.integers(min_value=-(10**12), max_value=10**13))
def test_progress_never_shows_more_than_100_percent(current: int, total: int) -> None:
    text = _plain(current, total)
    for share in re.findall(r"\((-?\d+)%\)", text):
        assert 0 <= int(share) <= 100, text
    if current > total > 0:
        assert "/" not in text and "%" not in text, text  # the estimate was passed: bytes sent only
    tty = io.StringIO()
    push.Progress(tty, mode="tty").update(
        {"status": "Pushing", "id": "l1", "progressDetail": {"current": current, "total": total}}
    )
    assert "%" not in tty.getvalue()


def test_pre_push_hook_says_the_key_was_stopped_not_public(tmp_path: Path) -> None:
    require_tool("git")
    repo = init_repo(str(tmp_path / "repo"))
    remote = str(tmp_path / "remote.git")
    git(str(tmp_path), "init", "-q", "--bare", remote)
    git(repo, "remote", "add", "origin", remote)
    Path(repo, "a.txt").write_text("clean\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    git(repo, "push", "-q", "origin", "main")
    pushed = git(repo, "rev-parse", "HEAD").strip()
    Path(repo, "b.txt").write_text(f"{fake_key()}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    head = git(repo, "rev-parse", "HEAD").strip()
    env = {"PRE_COMMIT_FROM_REF": pushed, "PRE_COMMIT_TO_REF": head}
    stopped = run_cli(["--pre-push"], cwd=repo, env=env)
    assert stopped.returncode == 1
    said = stopped.stdout + stopped.stderr
    assert "the push was stopped, so it has not reached that remote" in said, said
    assert "everyone who cloned" not in said
    sarif = run_cli(["--pre-push", "--format", "sarif"], cwd=repo, env=env)
    assert "the push was stopped" in sarif.stdout and "everyone who cloned" not in sarif.stdout
    # The same commit scanned as history (it may have been pushed anywhere): the public-history advice.
    history = run_cli(["--since", pushed], cwd=repo)
    assert history.returncode == 1
    assert "everyone who cloned or forked" in history.stdout + history.stderr


CI_MARKERS = {
    "local": {},
    "jenkins": {"JENKINS_URL": "http://jenkins.example"},
    "circleci": {"CIRCLECI": "true"},
    "bitbucket": {"BITBUCKET_BUILD_NUMBER": "7"},
    "gitlab": {"GITLAB_CI": "true"},
}


@pytest.mark.parametrize("ci", sorted(CI_MARKERS))
def test_every_plain_text_error_starts_the_same(tmp_path: Path, ci: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**base_env(home, "http://127.0.0.1:9", REACTOR_API_KEY=""), **CI_MARKERS[ci]}
    env.pop("CI", None)
    result = run(["login"], env)
    assert result.code == 2
    first = next(line for line in result.stderr.splitlines() if "error" in line)
    # GitLab colours the line; the text is the same
    assert re.sub(r"\x1b\[[0-9;]*m", "", first).startswith("reactor-ci: error: "), result.stderr
    assert "error: reactor-ci:" not in result.stderr
