"""The README's first command: `reactor-ci demo` runs the main job end to end."""

from __future__ import annotations

import re
import subprocess
import sys

KEY_OR_JWT = re.compile(r"r[pk]_[A-Za-z0-9]{20,}|eyJ[\w-]+\.[\w-]+\.[\w-]+")


def test_demo_runs_every_step_and_prints_no_secret() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "every step behaved as expected" in output
    assert output.count("(as expected)") == 8
    assert "Logged in to Reactor as sandbox" in output
    assert "clamped" in output
    assert "reactor-partner-key" in output  # the planted key was found, redacted
    assert KEY_OR_JWT.findall(output) == []
