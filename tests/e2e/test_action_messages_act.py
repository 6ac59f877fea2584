"""Only true messages from the action (issue 20), under act with a PATH that holds no other helper.

* A successful partner login prints no warning at all: the helper is not on THIS step's PATH, but the
  set-up put its directory on the PATH of every later step, and the login says so.
* A failed login raises ONE annotation, with the cause; the doctor that follows reports only the checks
  that can explain it (no "no credentials file", no `pip install`).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_action_act import assert_no_canary, job_lines, make_repo, outputs, run_act
from tests.emulator_fixtures import EmulatorProcess

pytestmark = pytest.mark.real("act")


def _clean_path() -> str:
    """The test's PATH minus every directory holding a docker-credential-reactor (the dev venv's)."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    kept = [d for d in dirs if not (Path(d) / "docker-credential-reactor").exists()]
    return os.pathsep.join(kept or ["/usr/bin", "/bin"])


def test_success_has_no_false_warning_and_failure_one_annotation(tmp_path: Path, emulator: EmulatorProcess) -> None:
    clean = _clean_path()
    assert shutil.which("docker-credential-reactor", path=clean) is None
    jobs = ""
    for job, secret in (("good", "REACTOR_PARTNER_KEY"), ("bad", "UNKNOWN_PARTNER_KEY")):
        jobs += f"""\
  {job}:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          api-key: ${{{{ secrets.{secret} }}}}
          api-url: {emulator.url}
      - name: the helper in a later step
        run: echo "OUT helper=$(command -v docker-credential-reactor)"
"""
    secrets = {"REACTOR_PARTNER_KEY": emulator.partner_key, "UNKNOWN_PARTNER_KEY": "rp_" + "Z" * 32}
    repo = make_repo(tmp_path, {"messages.yml": "name: messages\non: push\njobs:\n" + jobs})
    rc, out = run_act(repo, tmp_path / "home", secrets, env={"PATH": clean})
    assert rc != 0  # the bad job fails
    good = job_lines(out, "good")
    assert "Job succeeded" in good, good
    assert "::warning" not in good and "ANONYMOUSLY" not in good, good
    assert "docker-credential-reactor is on PATH from the next step on" in good, good
    assert outputs(good)["helper"].endswith("/bin/docker-credential-reactor")

    bad = job_lines(out, "bad")
    assert "Job failed" in bad
    errors = [line for line in bad.splitlines() if "::error" in line]
    assert len(errors) == 1, bad
    assert "rejected the key as invalid" in errors[0]
    doctor = bad.split("reactor-ci doctor: why the step failed", 1)[1].split("::endgroup::", 1)[0]
    assert "FAIL  key" in doctor and "the action's api-key input" in doctor, doctor
    checks = re.findall(r"\|   (?:ok  |WARN|FAIL)  (\S+)", doctor)
    assert checks == ["proxy", "api", "clock", "key"], doctor
    assert "pip install" not in doctor and "no credentials file" not in doctor
    assert_no_canary(out, secrets, "act's output")
