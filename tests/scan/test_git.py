"""Git modes against real git in temporary repositories: history, --staged, --all, --pre-push."""

from __future__ import annotations

import json
import os

import pytest

from tests.parts import require_tool
from tests.scan_helpers import fake_key, git, init_repo, run_cli


@pytest.fixture
def repo(tmp_path: os.PathLike[str]) -> str:
    require_tool("git")
    return init_repo(os.path.join(str(tmp_path), "repo"))


def _write(repo: str, rel: str, text: str) -> None:
    path = os.path.join(repo, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _findings(proc_stdout: str) -> list[tuple[str, int, str, str | None]]:
    doc = json.loads(proc_stdout)
    return [(f["path"], f["line"], f["rule"], f.get("commit")) for f in doc["findings"]]


def test_history_finds_key_added_then_removed(repo: str) -> None:
    key = fake_key("rp_")
    _write(repo, "README.md", "hello\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "init")
    _write(repo, "src/settings.py", "A = 1\nB = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "settings")
    base = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, "src/settings.py", f"A = 1\nB = 2\nKEY = '{key}'\n")
    git(repo, "commit", "-qam", "oops")
    leak_commit = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, "src/settings.py", "A = 1\nB = 2\nKEY = os.environ['REACTOR_API_KEY']\n")
    git(repo, "commit", "-qam", "remove key")

    # The work tree is clean...
    assert run_cli(["--all"], cwd=repo).returncode == 0
    # ...but history is not.
    proc = run_cli(["--all-history", "--format", "json"], cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert _findings(proc.stdout) == [("src/settings.py", 3, "reactor-partner-key", leak_commit)]
    assert key not in proc.stdout + proc.stderr
    proc = run_cli(["--since", base, "--format", "json"], cwd=repo)
    assert _findings(proc.stdout) == [("src/settings.py", 3, "reactor-partner-key", leak_commit)]
    text = run_cli(["--since", base], cwd=repo).stdout
    assert text.startswith(f"{leak_commit[:12]}:src/settings.py:3:8: reactor-partner-key")
    # Nothing new since the removal.
    assert run_cli(["--since", "HEAD~1"], cwd=repo).returncode == 0
    assert run_cli(["--since", "no-such-rev"], cwd=repo).returncode == 2


def test_history_line_numbers_in_multi_hunk_diffs(repo: str) -> None:
    lines = [f"line {i}" for i in range(1, 21)]
    _write(repo, "a.txt", "\n".join(lines) + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    k1, k2 = fake_key("rk_"), fake_key("rp_")
    lines.insert(2, f"k1={k1}")
    lines.insert(15, f"k2={k2}")
    _write(repo, "a.txt", "\n".join(lines) + "\n")
    git(repo, "commit", "-qam", "two keys")
    proc = run_cli(["--since", "HEAD~1", "--format", "json"], cwd=repo)
    assert [(p, line, r) for p, line, r, _ in _findings(proc.stdout)] == [
        ("a.txt", 3, "reactor-app-key"),
        ("a.txt", 16, "reactor-partner-key"),
    ]


def test_staged_scans_index_content_not_worktree(repo: str) -> None:
    key = fake_key("rk_")
    _write(repo, "a.py", "x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    _write(repo, "a.py", f"x = '{key}'\n")
    git(repo, "add", "a.py")
    _write(repo, "a.py", "x = 1\n")  # the work tree is clean again, the index is not
    proc = run_cli(["--staged", "--format", "json"], cwd=repo)
    assert proc.returncode == 1
    assert [(p, line, r) for p, line, r, _ in _findings(proc.stdout)] == [("a.py", 1, "reactor-app-key")]
    git(repo, "add", "a.py")
    assert run_cli(["--staged"], cwd=repo).returncode == 0


def test_all_scans_tracked_files_only(repo: str) -> None:
    _write(repo, "tracked.env", f"K={fake_key()}\n")
    _write(repo, "untracked.env", f"K={fake_key()}\n")
    git(repo, "add", "tracked.env")
    git(repo, "commit", "-qm", "init")
    proc = run_cli(["--all", "--format", "json"], cwd=repo)
    assert [p for p, *_ in _findings(proc.stdout)] == ["tracked.env"]
    assert run_cli(["--all", "x.py"], cwd=repo).returncode == 2  # paths and a mode: usage error


def test_pre_push_range_from_pre_commit_env(repo: str, tmp_path: os.PathLike[str]) -> None:
    remote = os.path.join(str(tmp_path), "remote.git")
    git(str(tmp_path), "init", "-q", "--bare", remote)
    git(repo, "remote", "add", "origin", remote)
    _write(repo, "a.txt", "clean\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    git(repo, "push", "-q", "origin", "main")
    pushed = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, "b.txt", f"{fake_key()}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    head = git(repo, "rev-parse", "HEAD").strip()
    env = {"PRE_COMMIT_FROM_REF": pushed, "PRE_COMMIT_TO_REF": head}
    assert run_cli(["--pre-push"], cwd=repo, env=env).returncode == 1
    # A new branch (no from-ref): every commit not on a remote.
    assert run_cli(["--pre-push"], cwd=repo).returncode == 1
    git(repo, "push", "-q", "origin", "main")
    assert run_cli(["--pre-push"], cwd=repo).returncode == 0


def test_history_finds_credentials_added_to_existing_json(repo: str) -> None:
    """History hunks are fragments: JSON-document rules apply mid-file."""
    _write(repo, "creds.json", '{\n  "api_key": "see vault",\n  "partner_id": "acme"\n}\n')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    token = fake_key("", 40)
    _write(
        repo,
        "creds.json",
        f'{{\n  "api_key": "see vault",\n  "partner_id": "acme",\n  "registry_token": "{token}"\n}}\n',
    )
    git(repo, "commit", "-qam", "token")
    proc = run_cli(["--since", "HEAD~1", "--format", "json"], cwd=repo)
    assert [(p, line, r) for p, line, r, _ in _findings(proc.stdout)] == [("creds.json", 4, "reactor-credentials-file")]
    assert token not in proc.stdout
