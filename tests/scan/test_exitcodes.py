"""Exit codes as CI users expect (issue 21): --exit-code N and --exit-zero for findings; errors stay exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, run_cli


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    (tmp_path / "a.env").write_text(f"REACTOR_API_KEY={fake_key()}\n")
    (tmp_path / "clean.txt").write_text("nothing\n")
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "code"),
    [([], 1), (["--exit-code", "7"], 7), (["--exit-code", "1"], 1), (["--exit-code", "0"], 0), (["--exit-zero"], 0)],
)
def test_findings_exit_with_the_chosen_code(dirty: Path, extra: list[str], code: int) -> None:
    proc = run_cli([*extra, "a.env"], cwd=str(dirty))
    assert proc.returncode == code, proc.stderr
    assert "a.env:1:17: reactor-partner-key" in proc.stdout  # reported either way


@pytest.mark.parametrize("extra", [[], ["--exit-code", "7"], ["--exit-zero"]])
def test_clean_is_always_0(dirty: Path, extra: list[str]) -> None:
    assert run_cli([*extra, "clean.txt"], cwd=str(dirty)).returncode == 0


@pytest.mark.parametrize(
    "broken",
    [
        ["no-such-file"],  # a missing path
        ["--disable-rule", "nope", "a.env"],  # an unknown rule
        ["--baseline", "missing.json", "a.env"],  # a missing baseline
        ["--exclude", "(", "a.env"],  # a bad regex
        ["--since", "no-such-rev"],  # git fails (not a repo)
    ],
)
@pytest.mark.parametrize("extra", [[], ["--exit-code", "0"], ["--exit-code", "9"], ["--exit-zero"]])
def test_errors_stay_exit_2_whatever_is_chosen(dirty: Path, broken: list[str], extra: list[str]) -> None:
    proc = run_cli([*extra, *broken], cwd=str(dirty))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", ["2", "3", "5", "126", "-1", "x"])
def test_an_exit_code_that_would_pass_for_an_error_is_refused(dirty: Path, bad: str) -> None:
    proc = run_cli(["--exit-code", bad, "a.env"], cwd=str(dirty))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    if bad.lstrip("-").isdigit():
        assert f"--exit-code {bad}: must be 0, 1 or 6-125" in proc.stderr


def test_reactor_ci_scan_route_honours_the_exit_code(dirty: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    for extra, code in (([], 1), (["--exit-code", "42"], 42), (["--exit-zero"], 0)):
        proc = subprocess.run(
            [sys.executable, "-m", "reactor_ci", "scan", *extra, "a.env"], cwd=dirty, capture_output=True, env=env
        )
        assert proc.returncode == code, proc.stderr


def test_no_doc_discards_the_scanners_exit_status() -> None:
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not re.search(r"reactor-ci(?:-scan| scan)\b.*\|\|\s*(?:true|:)", line), f"{path.name}:{number}"
