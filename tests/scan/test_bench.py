"""bench/bench_scan.py runs end to end (small settings) and its correctness checks hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT

pytestmark = pytest.mark.real("ripgrep + detect-secrets")


def test_bench_smoke() -> None:
    """Small settings, the lib tree left out (it is ~900 MB): the clean venv from the wheel,
    kingfisher from the bench's own venv, ripgrep and detect-secrets all find every planted key."""
    require_tool("rg", "apt-get install ripgrep")
    require_tool("detect-secrets", "pip install 'reactor-ci[scan]'")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "bench", "bench_scan.py"),
         "--keys", "12", "--repeats", "1", "--ds-repeats", "1", "--slice-mb", "0.5", "--no-big-tree"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout
    print(out)
    assert proc.returncode == 0, out + proc.stderr
    assert "reactor-ci: clean venv from the wheel (.pth files: none)" in out
    assert "reactor-ci on tree: 12/12 planted keys found, 0 other findings" in out
    assert "ripgrep on tree: 12/12 planted keys matched" in out
    assert "kingfisher (1 custom rule) on tree: 12/12 planted keys found" in out, proc.stderr[-2000:]
    assert "betterleaks (1 custom rule) on tree: 12/12 planted keys found" in out, proc.stderr[-2000:]
    assert "detect-secrets+plugin on slice: 12/12 planted keys found" in out
    baselines = re.search(r"python -c pass ([\d.]+) ms in the clean venv, ([\d.]+) ms in the dev venv", out)
    assert baselines is not None
    ratio = re.search(r"detect-secrets / reactor-ci on the slice = (\d+)x", out)
    assert ratio is not None and int(ratio.group(1)) >= 10
