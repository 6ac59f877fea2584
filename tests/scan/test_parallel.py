"""Output is byte-identical for any --jobs, in every format (issue 11.1)."""

from __future__ import annotations

import os
import re

import pytest

from reactor_ci.scan import engine
from reactor_ci.scan.cli import FORMATS
from tests.scan_helpers import fake_key, run_cli


def _tree(root: str, n: int = 900) -> int:
    """~900 files over nested directories whose names sort differently as raw
    paths (``./d10/…``) and as display paths, with keys, binaries and a symlink."""
    planted = 0
    for i in range(n):
        sub = os.path.join(root, f"d{i % 13}", f"s{i % 3}" if i % 2 else "")
        os.makedirs(sub, exist_ok=True)
        name = os.path.join(sub, f"f{i}.txt" if i % 11 else f"B{i}.bin")
        if i % 11 == 0:
            data = b"\x7fELF\x00\x00binary"
        else:
            text = f"line {i}\n" * (i % 4)
            if i % 17 == 0:
                planted += 1
                text += f"key={fake_key('rk_' if i % 2 else 'rp_')}\nother={fake_key()}\n"
            data = text.encode()
        with open(name, "wb") as fh:
            fh.write(data)
    os.symlink("d0/f1.txt", os.path.join(root, "link.txt"))
    return planted


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_identical_for_any_jobs(tmp_path: os.PathLike[str], fmt: str) -> None:
    root = str(tmp_path)
    assert _tree(root) > 40
    outputs = {}
    for jobs in ("1", "2", "4"):
        # Relative paths from inside the tree: the case where raw and display paths differ.
        proc = run_cli(["--format", fmt, "--jobs", jobs, "-q", "--no-annotations", "."], cwd=root)
        assert proc.returncode == 1, proc.stderr
        # The GitLab report says when the scan ran: everything else must match.
        outputs[jobs] = re.sub(r'"(?:start|end)_time": "[^"]*"', "", proc.stdout)
    assert outputs["1"] == outputs["2"] == outputs["4"]
    assert outputs["1"].count("rk_") + outputs["1"].count("rp_") > 80


def test_engine_parallel_equals_serial_with_relative_paths(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(tmp_path)
    _tree(root)
    monkeypatch.chdir(root)
    results = []
    for workers in (1, 3, 8):
        skipped: list[engine.Skipped] = []
        found, count = engine.scan_paths(["."], engine.compile_rules(), skipped=skipped, workers=workers)
        assert count >= engine.PARALLEL_MIN_FILES
        results.append(([f.astuple() for f in found], [(s.path, s.reason) for s in skipped], count))
    assert results[0] == results[1] == results[2]
    assert any(reason == "binary" for _, reason in results[0][1])
