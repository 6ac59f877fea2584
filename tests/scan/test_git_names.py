"""Hostile file names in every git mode and in text output (issues 9.3, 9.4, 10.2).

Real git repositories in temporary directories. Every mode must report the
exact name git stores (no trailing TAB, no C-quoting, no newline split), the
content of THAT file (``0:x.txt`` is not stage 0 of ``x.txt``), and history
findings must carry the commit that added the key.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.parts import require_tool
from tests.scan_helpers import fake_key, git, init_repo, run_cli

HOSTILE = [
    "dir with space é/leak.env",
    "tab\there.env",
    "quo\"te's.env",
    "new\nline.env",
    "0:x.txt",
    "ünï cødé.txt",
    "back\\slash.env",
    "e\n::warning file=x::INJECTED\n.txt",
]
MODES = ["--staged", "--all", "--all-history", "--since", "--pre-push"]


@pytest.fixture
def repo(tmp_path: os.PathLike[str]) -> str:
    require_tool("git")
    path = init_repo(os.path.join(str(tmp_path), "repo"))
    with open(os.path.join(path, "README.md"), "w") as fh:
        fh.write("init\n")
    git(path, "add", "README.md")
    git(path, "commit", "-qm", "init")
    return path


def _write(repo: str, rel: str, text: str) -> None:
    path = os.path.join(repo, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _plant(repo: str) -> dict[str, str]:
    """A key in every hostile name (line 2), and a clean ``x.txt`` beside ``0:x.txt``."""
    keys = {}
    for i, name in enumerate(HOSTILE):
        keys[name] = fake_key("rk_" if i % 2 else "rp_")
        _write(repo, name, f"first line\nKEY={keys[name]}\n")
    _write(repo, "x.txt", "nothing to see\n")
    git(repo, "add", "-A")
    return keys


def _args(mode: str, base: str) -> list[str]:
    return ["--since", base] if mode == "--since" else [mode]


def _json(repo: str, args: list[str], env: dict[str, str] | None = None) -> list[dict[str, object]]:
    proc = run_cli([*args, "--format", "json", "--no-baseline"], cwd=repo, env=env)
    assert proc.returncode == 1, proc.stderr
    findings: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
    return findings


@pytest.mark.parametrize("mode", MODES)
def test_exact_names_in_every_git_mode(repo: str, mode: str) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    keys = _plant(repo)
    if mode != "--staged":
        git(repo, "commit", "-qm", "leak")
    added = git(repo, "rev-parse", "HEAD").strip()
    findings = _json(repo, _args(mode, base))
    assert sorted(str(f["path"]) for f in findings) == sorted(HOSTILE)
    assert all(f["line"] == 2 and f["col"] == 5 for f in findings), findings
    history = mode in ("--all-history", "--since", "--pre-push")
    assert all(f.get("commit") == (added if history else None) for f in findings), findings
    doc = json.dumps(findings)
    assert not any(k in doc for k in keys.values())


@pytest.mark.parametrize("mode", MODES)
def test_text_output_is_one_inert_line_per_finding(repo: str, mode: str) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    _plant(repo)
    if mode != "--staged":
        git(repo, "commit", "-qm", "leak")
    proc = run_cli([*_args(mode, base), "--no-baseline"], cwd=repo)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(HOSTILE), proc.stdout
    assert not any(line.lstrip().startswith("::") for line in (proc.stdout + proc.stderr).splitlines())
    hostile = "e\\n::warning file=x::INJECTED\\n.txt:2:5:"
    assert any(line.startswith(hostile) or line[13:].startswith(hostile) for line in lines), proc.stdout


def test_history_points_at_the_commit_and_line_that_added_the_key(repo: str) -> None:
    name = "dir with space é/leak.env"
    key = fake_key("rp_")
    _write(repo, name, "a\nb\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "file")
    _write(repo, name, f"a\nb\nKEY={key}\n")
    git(repo, "commit", "-qam", "leak")
    leak = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, name, f"inserted\nmore\na\nb\nKEY={key}\n")  # the key moves down in a later commit
    git(repo, "commit", "-qam", "move")
    findings = _json(repo, ["--all-history"])
    assert [(f["path"], f["line"], f["commit"]) for f in findings] == [(name, 3, leak)]


def test_zero_colon_name_is_read_by_object_id(repo: str) -> None:
    """``:0:x.txt`` would be stage 0 of ``x.txt``: the key in ``0:x.txt`` itself must be found."""
    key = fake_key("rk_")
    _write(repo, "x.txt", "clean\n")
    _write(repo, "0:x.txt", f"KEY={key}\n")
    git(repo, "add", "-A")
    findings = _json(repo, ["--staged"])
    assert [(f["path"], f["line"]) for f in findings] == [("0:x.txt", 1)]


def test_baselined_findings_do_not_fire_again_at_pre_push(repo: str) -> None:
    keys = _plant(repo)
    git(repo, "commit", "-qm", "accepted fixtures")
    # Accepted from the work tree, checked at commit and push time: same names, same fingerprints.
    assert run_cli(["--all", "--update-baseline"], cwd=repo).returncode == 0
    for args in (["--all"], ["--all-history"], ["--pre-push"]):
        proc = run_cli(args, cwd=repo)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    # A new key in one of the hostile names still fires.
    name = "new\nline.env"
    _write(repo, name, f"first line\nKEY={keys[name]}\nNEW={fake_key('rp_')}\n")
    git(repo, "commit", "-qam", "another")
    proc = run_cli(["--pre-push", "--format", "json"], cwd=repo)
    assert proc.returncode == 1
    assert [(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]] == [("new\nline.env", 3)]


def test_staged_skips_submodule_symlink_and_oversized(repo: str) -> None:
    os.symlink("README.md", os.path.join(repo, "link.env"))
    _write(repo, "big.env", f"KEY={fake_key()}\n" + "x" * 2000)
    git(repo, "add", "-A")
    proc = run_cli(["--staged", "--format", "json", "--max-size", "1000"], cwd=repo)
    assert proc.returncode == 0, proc.stderr
    skipped = {s["path"]: s["reason"] for s in json.loads(proc.stdout)["skipped"]}
    assert skipped == {"link.env": "symlink", "big.env": "larger than 1000 bytes"}


def test_pre_push_refuses_an_option_as_revision(repo: str) -> None:
    proc = run_cli(["--pre-push"], cwd=repo, env={"PRE_COMMIT_TO_REF": "--output=/tmp/x", "PRE_COMMIT_FROM_REF": "a"})
    assert proc.returncode == 2
    assert "PRE_COMMIT_TO_REF" in proc.stderr and "fix:" in proc.stderr
    assert not os.path.exists("/tmp/x")
