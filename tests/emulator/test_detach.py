"""Issue 10.6: `reactor-ci emulator --detach` returns once READY and prints export lines; `--stop`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.emulator import detach
from tests.repo import REPO_ROOT

SECRET = re.compile(r"r[pk]_[A-Za-z0-9]{20,}|rrt_[A-Za-z0-9]{20,}")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTOR_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reactor_ci", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env or _env(),
        stdin=subprocess.DEVNULL,
    )


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_eval_detach_then_use_at_once_then_stop(tmp_path: Path) -> None:
    state = tmp_path / "emu.json"
    # The documented quick start, verbatim in a real shell: no sleep, no polling.
    script = f"""
set -eu
eval "$({shlex.quote(sys.executable)} -m reactor_ci emulator --detach --state-file {shlex.quote(str(state))})"
{shlex.quote(sys.executable)} - <<'PY'
import json, os, urllib.request
url = os.environ["REACTOR_API_URL"]
with urllib.request.urlopen(url + "/_emulator/health") as r:
    assert json.load(r) == {{"ok": True}}
print("PID", os.environ["REACTOR_EMULATOR_PID"], "STATE", os.environ["REACTOR_EMULATOR_STATE"])
PY
"""
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=90, env=_env())
    assert proc.returncode == 0, proc.stderr
    pid = int(proc.stdout.split()[1])
    assert proc.stdout.split()[3] == str(state)
    try:
        assert _alive(pid)
        data = json.loads(state.read_text())
        assert data["pid"] == pid
        assert state.stat().st_mode & 0o777 == 0o600
    finally:
        stop = _cli("--stop", "--state-file", str(state))
    assert stop.returncode == 0 and f"stopped (pid {pid})" in stop.stderr
    assert not _alive(pid) and not state.exists()
    again = _cli("--stop", "--state-file", str(state))
    assert again.returncode == 0 and "no emulator running" in again.stderr


def test_detach_prints_only_shell_lines_and_no_secret(tmp_path: Path) -> None:
    state = tmp_path / "dir with space 'q'" / "emu.json"
    up = _cli("--detach", "--state-file", str(state), "--partner-id", "acme")
    try:
        assert up.returncode == 0, up.stderr
        assert SECRET.findall(up.stdout + up.stderr) == []
        exports = {}
        for line in up.stdout.splitlines():
            if line.startswith("#"):
                continue
            word, assignment = shlex.split(line)
            assert word == "export"
            name, _, value = assignment.partition("=")
            exports[name] = value
        data = json.loads(state.read_text())
        assert exports["REACTOR_API_URL"] == data["url"]
        assert exports["REACTOR_EMULATOR_STATE"] == str(state)
        assert int(exports["REACTOR_EMULATOR_PID"]) == data["pid"]
        assert "reactor-ci emulator --stop" in up.stdout and f"kill {data['pid']}" in up.stdout
        assert (
            httpx.get(data["url"] + "/v1/partner", headers={"Reactor-API-Key": data["partner_key"]}).json()[
                "partner_id"
            ]
            == "acme"
        )
        # A second one on the same state file is refused; the first keeps running.
        second = _cli("--detach", "--state-file", str(state))
        assert second.returncode == 2 and "already runs" in second.stderr
        assert json.loads(state.read_text())["pid"] == data["pid"]
    finally:
        _cli("--stop", "--state-file", str(state))


def test_default_state_file_is_private_and_per_user(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = _env(XDG_RUNTIME_DIR=str(runtime))
    up = _cli("--detach", env=env)
    try:
        assert up.returncode == 0, up.stderr
        assert f"REACTOR_EMULATOR_STATE={runtime}/reactor-ci/emulator.json" in up.stdout
        assert (runtime / "reactor-ci").stat().st_mode & 0o777 == 0o700
        assert "--stop  (or" in up.stdout  # the default needs no --state-file to stop
    finally:
        down = _cli("--stop", env=env)
    assert down.returncode == 0 and not (runtime / "reactor-ci" / "emulator.json").exists()


def test_a_shared_default_directory_is_refused(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    (runtime / "reactor-ci").mkdir(parents=True)
    (runtime / "reactor-ci").chmod(0o777)
    up = _cli("--detach", env=_env(XDG_RUNTIME_DIR=str(runtime)))
    assert up.returncode == 2 and "not a private directory" in up.stderr and "--state-file" in up.stderr


def test_bad_option_fails_at_once_with_the_childs_reason(tmp_path: Path) -> None:
    state = tmp_path / "emu.json"
    started = time.monotonic()
    up = _cli("--detach", "--state-file", str(state), "--registry-token-ttl", "0")
    assert up.returncode == 2, up.stderr
    assert "registry_token_ttl must be a positive integer" in up.stderr
    assert up.stdout == "" and not state.exists()
    assert time.monotonic() - started < 30


def test_stop_never_kills_a_pid_that_is_not_an_emulator(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        state = tmp_path / "emu.json"
        # A state file the emulator wrote (its marker) naming a live pid that is
        # not the process that wrote it (no start time matches): issue 19.3.
        stale = {"marker": detach.MARKER, "pid": sleeper.pid, "pid_start": -1, "url": "http://127.0.0.1:9"}
        state.write_text(json.dumps(stale))
        down = _cli("--stop", "--state-file", str(state))
        assert down.returncode == 0 and "no emulator running" in down.stderr
        assert sleeper.poll() is None  # still alive
        assert not state.exists()  # the stale file is gone
    finally:
        sleeper.kill()
        sleeper.wait()


def test_detach_replaces_a_stale_state_file(tmp_path: Path) -> None:
    state = tmp_path / "emu.json"
    state.write_text(json.dumps({"marker": detach.MARKER, "pid": 999_999_999, "url": "http://127.0.0.1:9"}))
    up = _cli("--detach", "--state-file", str(state))
    try:
        assert up.returncode == 0, up.stderr
        assert json.loads(state.read_text())["pid"] != 999_999_999
    finally:
        _cli("--stop", "--state-file", str(state))


def test_a_state_file_path_with_a_newline_is_refused(tmp_path: Path) -> None:
    up = _cli("--detach", "--state-file", str(tmp_path / "x\nrm -rf ~" / "emu.json"))
    assert up.returncode == 2 and "control characters" in up.stderr and up.stdout == ""


_PATH_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), min_size=1, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(name=_PATH_TEXT, url=_PATH_TEXT)
def test_export_lines_stay_inert_for_any_path(name: str, url: str) -> None:
    """Whatever the path or URL holds, eval sees exactly the export assignments."""
    from reactor_ci.emulator import detach

    state_file = Path("/tmp") / name.replace("/", "_") / "emu.json"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        detach.print_exports({"url": url}, state_file, state_file.with_suffix(".log"), 4242)
    exports = {}
    for line in buf.getvalue().splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue  # a comment line, and nothing after it
        assert words[0] == "export" and len(words) == 2
        key, _, value = words[1].partition("=")
        exports[key] = value
    assert exports == {
        "REACTOR_API_URL": url,
        "REACTOR_EMULATOR_STATE": str(state_file),
        "REACTOR_EMULATOR_PID": "4242",
    }
