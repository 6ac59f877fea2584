"""The GitLab component's failed login says it once (issue 20): one error line with the cause, then the
doctor (run as the component's front end) with only the checks that can explain it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.frontends.test_gitlab_component_sh import Job


@pytest.mark.slow
def test_unknown_key_one_error_and_a_focused_doctor(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    unknown = "rp_" + "Zq7Wm2" * 5 + "x9"
    proc = Job(tmp_path, emulator, wheel).run("before_script", REACTOR_API_KEY=unknown)
    assert proc.returncode == 3, proc.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr)
    errors = [line for line in plain.splitlines() if re.match(r"\s*reactor-ci: error:", line)]
    assert len(errors) == 1, plain
    assert "rejected the key as invalid" in errors[0]
    checks = re.findall(r"^\s+(?:ok  |WARN|FAIL)  (\S+)", plain, flags=re.MULTILINE)
    assert checks == ["proxy", "api", "clock", "key"], plain
    assert "the component's api-key-variable input" in plain
    assert "pip install" not in plain and "no credentials file" not in plain
    assert unknown not in proc.stdout + proc.stderr
