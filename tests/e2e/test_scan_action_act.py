"""The scan sub-action (``uses: reactor/auth-action/scan@v1``, issue 21) end to end under ``act``.

A temporary repo holds the action (its ``scan/``, ``bundle/`` and ``reactor_ci/``, as the ref does),
a ``.reactor-ci.toml`` and planted keys; workflows run it as ``uses: ./scan``, offline (no index, a
dead proxy), and the test checks the outputs, the SARIF file, the step summary (act prints it as
``Summary - …`` lines), the exit-code inputs, and that no key reaches act's output.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_action_act import job_lines, make_repo, outputs, run_act
from tests.leaks import assert_no_secret
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key

pytestmark = pytest.mark.real("act")

WORKFLOW = """\
name: scan
on: push
jobs:
  report:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: scan
        uses: ./scan
        with:
          exit-zero: "true"
          sarif-file: out/reactor.sarif
      - name: outputs
        env:
          FINDINGS: ${{ steps.scan.outputs.findings }}
          SARIF: ${{ steps.scan.outputs.sarif-file }}
        run: |
          echo "OUT findings=$FINDINGS"
          echo "OUT sarif-file=$SARIF"
          echo "OUT sarif-results=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$SARIF")"
  fail:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: scan
        uses: ./scan
        continue-on-error: true
        with:
          exit-code: "9"
          paths: |
            src
            example.env
      - name: outcome
        env:
          OUTCOME: ${{ steps.scan.outcome }}
          FINDINGS: ${{ steps.scan.outputs.findings }}
        run: |
          echo "OUT fail-outcome=$OUTCOME"
          echo "OUT fail-findings=$FINDINGS"
  broken:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: scan
        uses: ./scan
        continue-on-error: true
        with:
          exit-zero: "true"
          config: no-such-config.toml
      - name: outcome
        env:
          OUTCOME: ${{ steps.scan.outcome }}
        run: echo "OUT broken-outcome=$OUTCOME"
"""


def _summary(out: str, job: str) -> str:
    """The step summary act printed for ``job``: a ``Summary - `` line and its unprefixed continuation lines."""
    lines, taking = [], False
    for line in out.splitlines():
        if line.startswith("["):
            taking = line.startswith(f"[scan/{job}") and "Summary - " in line
            if taking:
                lines.append(line.split("Summary - ", 1)[1])
        elif taking:
            lines.append(line)
    return "\n".join(lines)


def test_scan_sub_action_outputs_summary_sarif_and_exit_codes(tmp_path: Path) -> None:
    keys = {"src key": fake_key("rp_"), "fixture key": fake_key("rk_"), "example key": fake_key("rk_")}
    repo = make_repo(tmp_path, {"scan.yml": WORKFLOW})
    shutil.copytree(REPO_ROOT / "scan", repo / "scan")
    (repo / "src").mkdir()
    (repo / "src" / "settings.py").write_text(f'REACTOR_API_KEY = "{keys["src key"]}"\n')
    (repo / "tests" / "fixtures").mkdir(parents=True)
    (repo / "tests" / "fixtures" / "ci.env").write_text(f"REACTOR_API_KEY={keys['fixture key']}\n")
    (repo / "example.env").write_text(f"REACTOR_API_KEY={keys['example key']}\n")
    (repo / ".reactor-ci.toml").write_text('[scan]\nexclude-paths = ["tests/fixtures/"]\n')
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "planted"], cwd=repo, check=True)

    rc, out = run_act(repo, tmp_path / "home", {})
    assert_no_secret([out], keys, "act's output")
    report, fail, broken = job_lines(out, "report"), job_lines(out, "fail"), job_lines(out, "broken")
    got = outputs(out)
    # exit-zero: the step passes, and the outputs say what it found (the fixture is allowlisted).
    assert got["findings"] == "2", report
    assert got["sarif-file"] == "out/reactor.sarif" and got["sarif-results"] == "2", report
    # The step summary: findings per rule and file, keys redacted, the allowlisted count.
    summary = _summary(out, "report")
    assert "### reactor-ci scan: 2 findings" in summary, report
    assert "1 finding allowlisted by .reactor-ci.toml" in summary
    assert "| reactor-partner-key | 1 |" in summary and "| reactor-app-key | 1 |" in summary
    assert f"src/settings.py | 1 | reactor-partner-key | rp&#95;…{keys['src key'][-4:]} |" in summary, summary
    # Annotations for the findings, as with any scan in GitHub Actions.
    assert "::error file=src/settings.py,line=1,col=20,title=reactor-ci%3A reactor-partner-key::" in report, report
    # exit-code 9: the step fails with 9 and still sets its outputs.
    assert got["fail-outcome"] == "failure" and got["fail-findings"] == "2", fail
    assert "exit status 9" in fail, fail
    # A broken scan fails the step (exit 2) even with exit-zero, naming the fix.
    assert got["broken-outcome"] == "failure", broken
    assert "no-such-config.toml: no such file" in broken
    assert rc == 0, out  # every failing step was continue-on-error


def test_scan_action_lints_clean_and_takes_inputs_through_env_only() -> None:
    """zizmor: no findings; the GitHub Actions schema accepts it; no ${{ }} inside its run:."""
    import yaml

    from tests.parts import require_tool

    path = str(REPO_ROOT / "scan" / "action.yml")
    zizmor = require_tool("zizmor", "pip install zizmor")
    proc = subprocess.run([zizmor, "--offline", path], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "No findings" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    cj = require_tool("check-jsonschema", "pip install check-jsonschema")
    proc = subprocess.run(
        [cj, "--builtin-schema", "vendor.github-actions", path], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = yaml.safe_load((REPO_ROOT / "scan" / "action.yml").read_text())
    for step in doc["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")
    assert set(doc["outputs"]) == {"findings", "sarif-file"}
