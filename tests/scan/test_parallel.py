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


def _engine_results(workers: int) -> tuple[list[tuple[object, ...]], list[tuple[str, str]], int]:
    skipped: list[engine.Skipped] = []
    found, count = engine.scan_paths(["."], engine.compile_rules(), skipped=skipped, workers=workers)
    return [f.astuple() for f in found], [(s.path, s.reason) for s in skipped], count


def test_walk_fed_in_small_records_and_a_full_pipe(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' feed: records of a few paths, paths longer than a record (scanned by the
    parent), and a pipe that refuses every other record (the parent scans it itself)."""
    from reactor_ci.scan import parallel

    root = str(tmp_path)
    _tree(root)
    deep = os.path.join(root, "d" * 90, "e" * 90)
    os.makedirs(deep)
    with open(os.path.join(deep, "long.env"), "w") as fh:
        fh.write(f"key={fake_key('rp_')}\n")
    with open(os.path.join(root, "archive.gz"), "wb") as fh:
        import gzip

        fh.write(gzip.compress(f"token={fake_key('rk_')}\n".encode()))
    # Containers by name (each sent as a record of its own), two in a row, one named like a wheel.
    import zipfile

    for name, prefix in (("pkg-1.0-py3-none-any.whl", "rp_"), ("pkg-2.zip", "rk_"), ("plain.tar", "rp_")):
        if name.endswith(".tar"):
            with open(os.path.join(root, name), "wb") as fh:
                fh.write(b"not a tar at all, key=" + fake_key(prefix).encode() + b"\n")  # the name is a hint only
            continue
        with zipfile.ZipFile(os.path.join(root, name), "w") as zf:
            zf.writestr("pkg/settings.py", f"KEY = '{fake_key(prefix)}'\n")
    monkeypatch.chdir(root)
    serial = _engine_results(1)
    assert any("long.env" in f[2] for f in serial[0]) and any("archive.gz" in f[2] for f in serial[0])
    for name in ("pkg-1.0-py3-none-any.whl!pkg/settings.py", "pkg-2.zip!pkg/settings.py", "plain.tar"):
        assert any(f[2].endswith(name) for f in serial[0]), name

    monkeypatch.setattr(parallel, "_RECORD_MAX", 160)  # fewer than 12 paths a record; the deep one never fits
    sent = parallel._Feed.send
    calls = [0]

    def refuse_every_other(self: parallel._Feed, start: int, paths: list[bytes]) -> bool:
        calls[0] += 1
        return sent(self, start, paths) if calls[0] % 2 else False

    for workers in (2, 3):
        assert _engine_results(workers) == serial
    monkeypatch.setattr(parallel._Feed, "send", refuse_every_other)
    for workers in (2, 4):
        assert _engine_results(workers) == serial
    assert calls[0] > 20

    def refuse_all(self: parallel._Feed, start: int, paths: list[bytes]) -> bool:
        return False  # a pipe that never drains: the parent scans every file itself

    monkeypatch.setattr(parallel._Feed, "send", refuse_all)
    assert _engine_results(2) == serial


def test_a_failed_worker_is_an_error_not_a_hang(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies leaves the walk to the others; the scan fails with a clear error."""
    from reactor_ci.errors import ReactorCIError
    from reactor_ci.scan import parallel

    root = str(tmp_path)
    _tree(root)
    monkeypatch.chdir(root)
    parent = os.getpid()
    real_scan = parallel._Scanner.scan

    def dies_in_child(self: parallel._Scanner, items: object) -> None:
        if os.getpid() != parent:
            raise RuntimeError("worker crash")
        real_scan(self, items)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel._Scanner, "scan", dies_in_child)
    with pytest.raises(ReactorCIError, match="scan worker process failed"):
        _engine_results(2)
