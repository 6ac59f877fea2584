"""`--format gitlab` (issue 21): GitLab's Secret Detection report, valid against the vendored schema,
with the commit GitLab requires, paths from the repository top, and no secret in it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from reactor_ci.scan.finding import Finding
from reactor_ci.scan.gitlab import SCHEMA_URI, SCHEMA_VERSION, to_gitlab
from tests.leaks import assert_no_secret
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo, run_cli

SCHEMA_FILE = REPO_ROOT / "tests" / "data" / f"gitlab-secret-detection-report-format-{SCHEMA_VERSION}.json"


def validate(doc: object) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["self"]["version"] == SCHEMA_VERSION
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def report(proc_stdout: str) -> dict[str, object]:
    doc = json.loads(proc_stdout)
    validate(doc)
    return doc


def test_a_tree_scan_from_a_subdirectory(tmp_path: Path) -> None:
    repo = init_repo(str(tmp_path / "repo"))
    keys = [fake_key("rp_"), fake_key("rk_")]
    Path(repo, "deploy").mkdir()
    Path(repo, "deploy", "ci.env").write_text(f"A={keys[0]}\nB={keys[1]}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "x")
    head = git(repo, "rev-parse", "HEAD").strip()
    proc = run_cli(["--format", "gitlab", "."], cwd=os.path.join(repo, "deploy"), env={"CI_COMMIT_SHA": ""})
    assert proc.returncode == 1, proc.stderr
    doc = report(proc.stdout)
    assert doc["version"] == SCHEMA_VERSION and doc["schema"] == SCHEMA_URI
    scan = doc["scan"]
    assert scan["type"] == "secret_detection" and scan["status"] == "success"
    assert scan["analyzer"]["id"] == "reactor-ci-scan"
    vulns = doc["vulnerabilities"]
    assert [(v["location"]["file"], v["location"]["start_line"], v["severity"]) for v in vulns] == [
        ("deploy/ci.env", 1, "Critical"),
        ("deploy/ci.env", 2, "High"),
    ]
    assert {v["location"]["commit"]["sha"] for v in vulns} == {head}
    assert [v["identifiers"][0]["value"] for v in vulns] == ["reactor-partner-key", "reactor-app-key"]
    assert vulns[0]["raw_source_code_extract"] == f"rp_…{keys[0][-4:]}"
    assert "Revoke the key" in vulns[0]["solution"]
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v["id"]) for v in vulns
    )
    assert_no_secret([proc.stdout, proc.stderr], keys)
    # Stable ids: the same findings in the next pipeline are the same vulnerabilities.
    again = report(run_cli(["--format", "gitlab", "."], cwd=os.path.join(repo, "deploy")).stdout)
    assert [v["id"] for v in again["vulnerabilities"]] == [v["id"] for v in vulns]


def test_history_findings_carry_the_commit_that_added_the_key(tmp_path: Path) -> None:
    repo = init_repo(str(tmp_path / "repo"))
    key = fake_key()
    Path(repo, "a.py").write_text(f"K = '{key}'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "leak")
    added = git(repo, "rev-parse", "HEAD").strip()
    Path(repo, "a.py").write_text("K = None\n")
    git(repo, "commit", "-qam", "remove")
    proc = run_cli(["--format", "gitlab", "--all-history"], cwd=repo, env={"CI_COMMIT_SHA": "f" * 40})
    (vuln,) = report(proc.stdout)["vulnerabilities"]
    assert vuln["location"]["commit"]["sha"] == added
    assert "git history" in vuln["solution"]


def test_ci_commit_sha_outside_git_and_no_commit_at_all(tmp_path: Path) -> None:
    Path(tmp_path, "a.env").write_text(f"K={fake_key()}\n")
    proc = run_cli(["--format", "gitlab", "a.env"], cwd=str(tmp_path), env={"CI_COMMIT_SHA": "ABCDEF1234567"})
    assert report(proc.stdout)["vulnerabilities"][0]["location"]["commit"]["sha"] == "abcdef1234567"
    proc = run_cli(
        ["--format", "gitlab", "a.env"], cwd=str(tmp_path), env={"CI_COMMIT_SHA": "$(id)", "GIT_DIR": "/nonexistent"}
    )
    assert report(proc.stdout)["vulnerabilities"][0]["location"]["commit"]["sha"] == "0000000"


def test_clean_and_allowlisted_scans_are_valid_reports_that_say_what_was_hidden(tmp_path: Path) -> None:
    Path(tmp_path, "clean.txt").write_text("nothing\n")
    doc = report(run_cli(["--format", "gitlab", "clean.txt"], cwd=str(tmp_path)).stdout)
    assert doc["vulnerabilities"] == [] and "messages" not in doc["scan"]
    Path(tmp_path, "k.env").write_text(f"K={fake_key()}\n")
    Path(tmp_path, ".reactor-ci.toml").write_text('[scan]\nexclude-paths = ["*.env"]\n')
    proc = run_cli(["--format", "gitlab", "--output", "gl.json", "."], cwd=str(tmp_path))
    assert proc.returncode == 0 and proc.stdout == ""
    doc = report(Path(tmp_path, "gl.json").read_text())
    assert doc["scan"]["messages"] == [{"level": "info", "value": "1 finding allowlisted by .reactor-ci.toml"}]


@pytest.mark.parametrize("name", ["e\n::warning file=x::INJECTED\n.txt", "dir with space é/a#1.env", "-dash.env"])
def test_any_file_name_gives_a_valid_report(tmp_path: Path, name: str) -> None:
    path = Path(tmp_path, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"K={fake_key()}\n")
    proc = run_cli(["--format", "gitlab", "--", "."], cwd=str(tmp_path))
    (vuln,) = report(proc.stdout)["vulnerabilities"]
    assert vuln["location"]["file"].removeprefix("./") == name


def test_field_bounds_hold_for_long_input() -> None:
    f = Finding("reactor-partner-key", "x" * 400, "p" * 5000, 3, 1, fake_key(), verified="live")
    doc = json.loads(to_gitlab([f], from_top=True, seconds=2.5))
    validate(doc)
    assert len(doc["vulnerabilities"][0]["name"]) == 255
    assert doc["scan"]["start_time"] <= doc["scan"]["end_time"]
