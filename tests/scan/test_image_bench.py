"""bench/bench_image.py runs end to end on a small image (its own private dockerd) and prints its numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from reactor_ci.emulator import dockerd as dockerd_lifecycle
from tests.parts import missing, require_tool
from tests.repo import REPO_ROOT

pytestmark = pytest.mark.real("dockerd + docker CLI + ripgrep")


def test_bench_image_smoke() -> None:
    require_tool("rg", "apt-get install ripgrep")
    reason = dockerd_lifecycle.why_unavailable()
    if reason:
        missing(reason)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "bench", "bench_image.py"),
         "--size-mb", "20", "--layers", "2", "--repeats", "1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    assert "findings: the planted key, and nothing else" in out
    assert re.search(r"ratio \(daemon\): +[\d.]+x", out), out
    rss = re.search(r"peak RSS: +(\d+) MB", out)
    assert rss is not None and int(rss.group(1)) < 150, out
