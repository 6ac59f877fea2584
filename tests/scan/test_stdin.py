"""`reactor-ci scan -` (issue 21): stdin as one file, --stdin-name, bounded, the config applies to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, git, init_repo, run_cli


def test_git_diff_piped_into_scan(tmp_path: Path) -> None:
    repo = init_repo(str(tmp_path / "repo"))
    Path(repo, "app.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    key = fake_key("rk_")
    Path(repo, "app.py").write_text(f"x = 1\nKEY = '{key}'\n")
    diff = subprocess.run(["git", "diff"], cwd=repo, capture_output=True, check=True).stdout
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan.cli", "-", "--stdin-name", "changes.diff", "--format", "json"],
        cwd=repo,
        input=diff,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["path"], finding["rule"], finding["redacted"]) == (
        "changes.diff",
        "reactor-app-key",
        f"rk_…{key[-4:]}",
    )
    assert "1 finding(s) in 1 file(s)" in proc.stderr.decode()
    assert_no_secret([proc.stdout.decode(), proc.stderr.decode()], [key])


def test_default_name_text_output_and_exit_codes(tmp_path: Path) -> None:
    key = fake_key()
    proc = run_cli(["-"], cwd=str(tmp_path), stdin=f"log line\ntoken={key}\n")
    assert proc.returncode == 1 and proc.stdout.startswith("stdin:2:7: reactor-partner-key")
    assert run_cli(["-", "--exit-zero"], cwd=str(tmp_path), stdin=f"{key}\n").returncode == 0
    assert run_cli(["-"], cwd=str(tmp_path), stdin="clean\n").returncode == 0
    assert run_cli(["-"], cwd=str(tmp_path), stdin="").returncode == 0


def test_a_hostile_stdin_name_stays_one_inert_line(tmp_path: Path) -> None:
    proc = run_cli(["-", "--stdin-name", "x\n::warning file=y::INJECTED"], cwd=str(tmp_path), stdin=f"{fake_key()}\n")
    assert proc.returncode == 1
    assert "\n::warning" not in proc.stdout and proc.stdout.count("\n") == 1


def test_config_applies_to_the_stdin_name(tmp_path: Path) -> None:
    (tmp_path / ".reactor-ci.toml").write_text('[scan]\nexclude-paths = ["*.log"]\n')
    proc = run_cli(["-", "--stdin-name", "build.log"], cwd=str(tmp_path), stdin=f"{fake_key()}\n")
    assert proc.returncode == 0 and "1 finding allowlisted by .reactor-ci.toml" in proc.stderr
    proc = run_cli(["-", "--stdin-name", "build.txt"], cwd=str(tmp_path), stdin=f"{fake_key()}\n")
    assert proc.returncode == 1


def test_stdin_is_bounded_binary_is_skipped_and_misuse_is_exit_2(tmp_path: Path) -> None:
    big = ("a" * 99 + "\n") * 20
    proc = run_cli(["-", "--max-size", "1000"], cwd=str(tmp_path), stdin=big)
    assert proc.returncode == 2 and "stdin holds more than 1000 bytes" in proc.stderr
    binary = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan.cli", "-", "-v"],
        cwd=tmp_path,
        input=b"\x00\x01\x02" * 100 + fake_key().encode(),
        capture_output=True,
        check=False,
    )
    assert binary.returncode == 0 and b"skipped stdin: binary" in binary.stderr
    (tmp_path / "f.txt").write_text("x\n")
    for args, text in (
        (["-", "f.txt"], "cannot be combined with other paths"),
        (["--stdin-name", "x", "f.txt"], "--stdin-name needs `-`"),
        (["-", "--stdin-name", ""], "--stdin-name must be"),
        (["-", "--staged"], "paths cannot be combined"),
    ):
        proc = run_cli(args, cwd=str(tmp_path), stdin="x\n")
        assert proc.returncode == 2 and text in proc.stderr, (args, proc.stderr)


def test_stdin_holding_an_archive_or_base64_is_opened(tmp_path: Path) -> None:
    """`cat bundle.tgz | reactor-ci scan -` opens the archive; base64 on stdin is decoded, as for files."""
    import base64
    import gzip as _gzip
    import io as _io
    import tarfile as _tarfile

    key = fake_key()
    buf = _io.BytesIO()
    with _tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = f"KEY={key}\n".encode()
        info = _tarfile.TarInfo("bundle/.env")
        info.size = len(data)
        tar.addfile(info, _io.BytesIO(data))
    for payload, where in (
        (buf.getvalue(), "upload!bundle/.env"),
        (
            _gzip.compress(f"x\n{key}\n".encode()),
            "upload!upload.out",
        ),  # a gzip member is named after the file, .gz stripped (else + .out)
        (base64.b64encode(f"REACTOR_API_KEY={key}\n".encode()) + b"\n", "upload"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "reactor_ci.scan.cli", "-", "--stdin-name", "upload", "--format", "json"],
            input=payload,
            capture_output=True,
            cwd=tmp_path,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        assert [f["path"] for f in doc["findings"]] == [where], doc
        assert key.encode() not in proc.stdout + proc.stderr
