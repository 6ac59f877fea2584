"""Archives and encodings in the other modes (issue 17): history, pre-commit hooks, the detect-secrets plugin."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from reactor_ci.scan.detect_secrets_plugin import ReactorKeyDetector
from tests.leaks import assert_no_secret
from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan.test_archive_forms import env_text, tar_bytes, zip_bytes
from tests.scan.test_precommit import pc_home, try_repo
from tests.scan_helpers import fake_key, git, init_repo, run_cli

__all__ = ["pc_home"]  # a fixture, imported for pytest


def test_history_finds_a_key_in_an_archive_at_the_commit_that_added_it(tmp_path: Path) -> None:
    require_tool("git")
    repo = init_repo(str(tmp_path / "r"))
    key = fake_key("rk_")
    (Path(repo) / "README").write_text("hi\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    (Path(repo) / "model.tar.gz").write_bytes(tar_bytes([("model/.env", env_text(key))], "w:gz"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "model")
    added = git(repo, "rev-parse", "HEAD").strip()
    # A later commit changes the archive (the key stays in it), then one deletes it.
    (Path(repo) / "model.tar.gz").write_bytes(tar_bytes([("model/.env", env_text(key)), ("x", b"1")], "w:gz"))
    git(repo, "commit", "-qam", "more")
    git(repo, "rm", "-q", "model.tar.gz")
    git(repo, "commit", "-qm", "gone")
    proc = run_cli(["--all-history", "--format", "json"], cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert [(f["path"], f["line"], f["commit"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("model.tar.gz!model/.env", 3, added)
    ]
    assert_no_secret([proc.stdout, proc.stderr], [key])
    assert run_cli(["--all-history", "--no-archives"], cwd=repo).returncode == 0
    assert run_cli(["--since", "HEAD~1"], cwd=repo).returncode == 0  # only the deletion
    # A range that starts after it: the commit that changed the archive still holds the key
    # (an archive is scanned whole; git shows no added lines inside it).
    later = run_cli(["--since", added, "--format", "json"], cwd=repo)
    assert [f["commit"] for f in json.loads(later.stdout)["findings"]] == [git(repo, "rev-parse", "HEAD~1").strip()]


def test_history_decodes_base64_in_added_lines(tmp_path: Path) -> None:
    require_tool("git")
    repo = init_repo(str(tmp_path / "r"))
    key = fake_key("rp_")
    value = base64.b64encode(key.encode()).decode()
    (Path(repo) / "secret.yaml").write_text(f"kind: Secret\ndata:\n  K: {value}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "secret")
    proc = run_cli(["--all-history", "--format", "json"], cwd=repo)
    assert [(f["path"], f["line"], f["encoding"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("secret.yaml", 3, "base64")
    ]


@pytest.mark.real("pre-commit")
def test_pre_commit_hook_blocks_a_staged_wheel(pc_home: str, tmp_path: Path) -> None:
    repo = init_repo(str(tmp_path / "r"))
    key = fake_key("rp_")
    (Path(repo) / "dist").mkdir()
    (Path(repo) / "dist" / "pkg-1.0-py3-none-any.whl").write_bytes(zip_bytes([("pkg/conf.py", env_text(key))]))
    git(repo, "add", ".")
    proc = try_repo(pc_home, repo, "reactor-ci-scan")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "dist/pkg-1.0-py3-none-any.whl!pkg/conf.py:3:17: reactor-partner-key" in out
    assert_no_secret([out], [key])


def test_detect_secrets_plugin_reports_the_decoded_key() -> None:
    keys = [fake_key("rp_"), fake_key("rk_")]
    detector = ReactorKeyDetector()
    line = f"  REACTOR_API_KEY: {base64.b64encode(keys[0].encode()).decode()}"
    assert list(detector.analyze_string(line)) == [keys[0]]
    assert list(detector.analyze_string('"k": "\\u0072\\u006b_' + keys[1][3:] + '"')) == [keys[1]]
    assert list(detector.analyze_string("  x: " + base64.b64encode(b"rp_your_key_here").decode())) == []


def test_detect_secrets_scan_with_the_plugin_finds_a_kubernetes_secret(tmp_path: Path) -> None:
    require_tool("detect-secrets", "pip install 'reactor-ci[scan]'")
    key = fake_key("rk_")
    (tmp_path / "secret.yaml").write_text(
        f"kind: Secret\ndata:\n  REACTOR_API_KEY: {base64.b64encode(key.encode()).decode()}\n"
    )
    plugin = os.path.join(REPO_ROOT, "hooks", "reactor_detect_secrets.py")
    proc = subprocess.run(
        ["detect-secrets", "scan", "--all-files", "--plugin", plugin, "secret.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = json.loads(proc.stdout)["results"]["secret.yaml"]
    assert [(r["type"], r["line_number"]) for r in results if r["type"] == "Reactor API Key"] == [
        ("Reactor API Key", 3)
    ]
    assert_no_secret([proc.stdout, proc.stderr], [key])
