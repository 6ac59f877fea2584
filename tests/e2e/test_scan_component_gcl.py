"""The ``reactor-scan`` GitLab component (issue 21) under gitlab-ci-local: the job scans the project with
its ``.reactor-ci.toml``, writes GitLab's Secret Detection report, and attaches it as
``artifacts:reports:secret_detection`` (also under ``paths``, so it can be downloaded: gitlab-ci-local
keeps only those). The report validates against the schema and holds no key; exit-code inputs work."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_gitlab_ci_local import make_project, run_pipeline
from tests.leaks import assert_no_secret, files_holding
from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan.test_gitlab_report import validate
from tests.scan_helpers import fake_key

pytestmark = pytest.mark.real("gitlab-ci-local")
COMPONENT = "gitlab.com/reactor/auth-action/reactor-scan@$CI_COMMIT_SHA"
REPORT = "gl-secret-detection-report.json"


def pipeline(wheel: Path) -> str:
    return f"""\
stages: [test]

include:
  - component: {COMPONENT}
    inputs:
      install: {wheel}
      exit-zero: true
  - component: {COMPONENT}
    inputs:
      name: reactor-scan-strict
      install: {wheel}
      mode: paths
      paths: src example.env
      exit-code: 7
      report: strict-report.json

reactor-scan-strict:
  allow_failure: true
"""


def test_scan_job_attaches_a_valid_secret_detection_report(tmp_path: Path, wheel: Path) -> None:
    keys = {"src key": fake_key("rp_"), "fixture key": fake_key("rk_"), "example key": fake_key("rk_")}
    run = run_pipeline_with_files(tmp_path, pipeline(wheel), keys)
    out = run.out
    state = run.repo / ".gitlab-ci-local"
    # The planted files themselves are copied to builds/: the log, the job logs and the artifacts must not hold a key.
    logs = [out, *(p.read_text(errors="replace") for p in sorted((state / "output").glob("*.log")))]
    assert_no_secret(logs, keys, "gitlab-ci-local's output and job logs")
    report = state / "artifacts" / "reactor-scan" / REPORT
    assert report.is_file(), out[-4000:]
    doc = json.loads(report.read_text())
    validate(doc)
    files = sorted(v["location"]["file"] for v in doc["vulnerabilities"])
    assert files == ["example.env", "src/settings.py"], doc
    assert doc["scan"]["messages"] == [{"level": "info", "value": "1 finding allowlisted by .reactor-ci.toml"}]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=run.repo, capture_output=True, text=True).stdout.strip()
    assert {v["location"]["commit"]["sha"] for v in doc["vulnerabilities"]} == {head}
    assert files_holding(state / "artifacts", keys) == []
    # exit-zero: the job passed with findings; the strict one failed with its exit code, report attached.
    assert re.search(r"PASS +reactor-scan\b(?!-)", out), out[-3000:]
    strict = json.loads((state / "artifacts" / "reactor-scan-strict" / "strict-report.json").read_text())
    validate(strict)
    assert len(strict["vulnerabilities"]) == 2
    assert re.search(r"^reactor-scan-strict finished in .* WARN 7 *$", out, re.MULTILINE), run.job(
        "reactor-scan-strict"
    )
    assert re.search(r"^reactor-scan +finished in (?!.*WARN)", out, re.MULTILINE), run.job("reactor-scan ")


def test_the_merged_job_carries_the_secret_detection_report(tmp_path: Path) -> None:
    """``--preview`` prints the pipeline as GitLab would run it: the report is a secret_detection report."""
    gcl = require_tool("gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0 (node 20)")
    repo = make_project(tmp_path, pipeline(Path("/nonexistent.whl")), {})
    proc = subprocess.run([gcl, "--preview"], cwd=repo, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = {k: v for doc in yaml.safe_load_all(proc.stdout) if isinstance(doc, dict) for k, v in doc.items()}
    assert jobs["reactor-scan"]["artifacts"]["reports"] == {"secret_detection": REPORT}
    assert jobs["reactor-scan"]["artifacts"]["when"] == "always"
    assert jobs["reactor-scan-strict"]["artifacts"]["reports"] == {"secret_detection": "strict-report.json"}
    assert jobs["reactor-scan-strict"]["allow_failure"] is True


def run_pipeline_with_files(tmp_path: Path, ci_yaml: str, keys: dict[str, str]) -> object:
    """run_pipeline, with the planted files committed first (make_project commits only its own)."""
    import tests.e2e.test_gitlab_ci_local as gcl_tests

    original = gcl_tests.make_project

    def with_files(root: Path, text: str, variables: dict[str, str]) -> Path:
        repo = original(root, text, variables)
        (repo / "src").mkdir()
        (repo / "src" / "settings.py").write_text(f'REACTOR_API_KEY = "{keys["src key"]}"\n')
        (repo / "tests" / "fixtures").mkdir(parents=True)
        (repo / "tests" / "fixtures" / "ci.env").write_text(f"REACTOR_API_KEY={keys['fixture key']}\n")
        (repo / "example.env").write_text(f"REACTOR_API_KEY={keys['example key']}\n")
        (repo / ".reactor-ci.toml").write_text('[scan]\nexclude-paths = ["tests/fixtures/"]\n')
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "planted"], cwd=repo, check=True)
        return repo

    gcl_tests.make_project = with_files
    try:
        return run_pipeline(tmp_path, ci_yaml, {})
    finally:
        gcl_tests.make_project = original


def test_component_matches_gitlab_schema_and_carries_the_lock(tmp_path: Path) -> None:
    from tests.e2e.test_install_bundle import bundle_script
    from tests.frontends.test_gitlab_schema import gitlab_yaml
    from tests.frontends.test_gitlab_schema import validate as validate_ci

    spec, jobs = gitlab_yaml((REPO_ROOT / "templates" / "reactor-scan.yml").read_text())
    validate_ci(tmp_path, {"spec": spec, "jobs": jobs})
    assert bundle_script.component_problems(REPO_ROOT / "templates" / "reactor-scan.yml") == []
