"""`reactor-ci scan` errors and hostile names outside git (issues 9.4, 9.8, 11.4), and
property tests of the git output parsers: any bytes give records or a clean error."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import sources
from tests.scan_helpers import fake_key, run_cli

INJECT = "e\n::warning file=x::INJECTED\n.txt"


def test_nonexistent_path_exits_2_with_a_fix(tmp_path: os.PathLike[str]) -> None:
    proc = run_cli(["no-such-dir", "."], cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "no-such-dir: no such file or directory" in proc.stderr
    assert "\n  fix: " in proc.stderr and "Traceback" not in proc.stderr


def test_top_level_scan_errors_use_the_common_format(tmp_path: os.PathLike[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    for args, code in ((["no-such-dir"], 2), (["--jobs", "0", "."], 2), (["--max-size", "0", "."], 2)):
        proc = subprocess.run(
            [sys.executable, "-m", "reactor_ci", "scan", *args],
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == code, (args, proc.stderr)
        assert proc.stderr.startswith("reactor-ci: error: ") and "\n  fix: " in proc.stderr, proc.stderr


def test_errors_become_annotations_under_github(tmp_path: os.PathLike[str]) -> None:
    proc = run_cli(["no-such-dir"], cwd=str(tmp_path), env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 2
    assert "::error" in proc.stdout + proc.stderr


def test_not_a_git_repository_exits_2(tmp_path: os.PathLike[str]) -> None:
    for mode in ("--staged", "--all", "--all-history"):
        proc = run_cli([mode], cwd=str(tmp_path), env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
        assert proc.returncode == 2, (mode, proc.stderr)
        assert "fix:" in proc.stderr and "Traceback" not in proc.stderr


def test_hostile_name_is_one_inert_line_in_text_and_stderr(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    key = fake_key("rp_")
    with open(os.path.join(root, INJECT), "w") as fh:
        fh.write(f"{key}\n")
    with open(os.path.join(root, INJECT + ".bin"), "wb") as fh:
        fh.write(b"\x00\x01binary")
    proc = run_cli([".", "-v"], cwd=root)
    assert proc.returncode == 1
    assert proc.stdout.count("\n") == 1, proc.stdout
    assert proc.stdout.startswith("e\\n::warning file=x::INJECTED\\n.txt:1:1: reactor-partner-key")
    for line in (proc.stdout + proc.stderr).splitlines():
        assert not line.lstrip().startswith("::"), line
    assert key not in proc.stdout + proc.stderr
    # JSON keeps the exact name (it is data, encoded by JSON itself).
    doc = json.loads(run_cli([".", "--format", "json"], cwd=root).stdout)
    assert [f["path"] for f in doc["findings"]] == [INJECT]


def test_output_file_is_written_whole(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    with open(os.path.join(root, "a.env"), "w") as fh:
        fh.write(f"K={fake_key()}\n")
    assert run_cli(["a.env", "--format", "json", "-o", "report.json"], cwd=root).returncode == 1
    with open(os.path.join(root, "report.json"), encoding="utf-8") as fh:
        assert json.load(fh)["summary"]["findings"] == 1
    assert sorted(os.listdir(root)) == ["a.env", "report.json"]  # no temp file left
    proc = run_cli(["a.env", "-o", os.path.join(root, "missing", "r.txt")], cwd=root)
    assert proc.returncode == 2 and "fix:" in proc.stderr


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_raw_records_parser_never_crashes(data: bytes) -> None:
    try:
        records = list(sources._raw_records(data))
    except sources.GitOutputError:
        return
    assert all(isinstance(r[3], bytes) for r in records)


_LOG_PIECES = st.sampled_from(
    [b"commit " + b"a" * 40 + b"\0", b"\n", b"\0", b":100644 100644 " + b"0" * 40 + b" " + b"1" * 40 + b" M\0",
     b"x y.txt\0", b"diff --git a/x y.txt b/x y.txt\n", b'diff --git "a/\\303" "b/\\303"\n', b"@@ -1 +2,3 @@\n",
     b"+rp_key\n", b" ctx\n", b"+++ b/x\n", b'"\\1x"', b"\\"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_LOG_PIECES, st.binary(max_size=20)), max_size=30))
def test_log_parser_never_crashes(pieces: list[bytes]) -> None:
    stream = io.BytesIO(b"".join(pieces))
    try:
        added = list(sources._parse_log(sources._Reader(stream)))
    except sources.GitOutputError:
        return
    for item in added:
        assert len(item.line_map) == item.data.count(b"\n") + 1


@given(st.binary(max_size=60))
def test_c_unquote_total(data: bytes) -> None:
    assert isinstance(sources._c_unquote(b'"' + data + b'"'), bytes)


def test_hostile_name_cannot_start_a_workflow_command_in_any_format(tmp_path: os.PathLike[str]) -> None:
    """Every format, with GitHub annotations on: no line of stdout or stderr starts with the
    injected ``::warning``, and each format still names the file."""
    from reactor_ci.scan.cli import FORMATS

    root = str(tmp_path)
    key = fake_key("rk_")
    with open(os.path.join(root, INJECT), "w") as fh:
        fh.write(f"{key}\n")
    for fmt in FORMATS:
        proc = run_cli([".", "--format", fmt], cwd=root, env={"GITHUB_ACTIONS": "true"})
        assert proc.returncode == 1, (fmt, proc.stderr)
        lines = (proc.stdout + proc.stderr).splitlines()
        assert not any(line.lstrip().startswith("::warning") for line in lines), (fmt, lines)
        assert all(not line.lstrip().startswith("::") or line.startswith("::error ") for line in lines), lines
        assert "INJECTED" in proc.stdout, fmt
        assert key not in proc.stdout + proc.stderr


# ---------------------------------------------------------------- parser: never echoes a value


def test_both_scan_parsers_are_safe_argument_parsers() -> None:
    from reactor_ci import cli as top
    from reactor_ci.argparsing import SafeArgumentParser
    from reactor_ci.scan.cli import build_parser

    standalone = build_parser()
    assert isinstance(standalone, SafeArgumentParser) and standalone.allow_abbrev is False
    sub = next(a for a in top.build_parser("scan")._actions if a.dest == "command")
    scan = sub.choices["scan"]  # type: ignore[index]
    assert isinstance(scan, SafeArgumentParser) and scan.allow_abbrev is False


def test_a_key_given_as_an_unknown_argument_is_never_echoed(tmp_path: os.PathLike[str]) -> None:
    """Canary keys pasted where argparse would quote them back: never on stdout/stderr, exit 2."""
    key = fake_key("rp_")
    app = fake_key("rk_")
    cases = (
        ["--api-key", key, "."],  # unrecognized arguments
        [f"--{key}"],  # unrecognized option that IS the key
        ["--format", key],  # invalid choice
        ["--jobs", app],  # invalid int value
        ["--base", app],  # no abbreviation of --baseline: unrecognized, not a file name
        [f"--no-baseline={key}"],  # ignored explicit argument
    )
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    for args in cases:
        for argv in (
            [sys.executable, "-m", "reactor_ci.scan.cli", *args],
            [sys.executable, "-m", "reactor_ci", "scan", *args],
        ):
            proc = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, text=True, env=env, timeout=60)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2, (args, out)
            for secret in (key, key[3:], app, app[3:]):
                assert secret not in out, args
            assert "(not shown)" in out or "(value not shown)" in out, out
            assert "Traceback" not in out and "\n  fix: " in out
