"""Issue 19.3: the emulator never touches what it did not create.

Real ``reactor-ci emulator --detach/--stop`` processes against planted files
and processes: an unrelated process whose argv merely holds ``emulator`` and
``reactor-ci``, a ``package.json`` passed as ``--state-file``, a symlink, a
default state directory others can write, an existing shared ``--work-dir``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulator.test_detach import _alive, _cli, _env

MARKER = "reactor-ci-emulator-state/1"


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    """A process that is NOT an emulator but whose command line says 'emulator' and 'reactor-ci'."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "emulator", "/usr/bin/reactor-ci", "reactor_ci"]
    )
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait()


def _start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_stop_spares_a_lookalike_process_named_in_an_old_style_state_file(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    state = tmp_path / "emu.json"
    original = json.dumps({"pid": lookalike.pid, "url": "http://127.0.0.1:9"})
    state.write_text(original)
    down = _cli("--stop", "--state-file", str(state))
    assert lookalike.poll() is None, down.stderr  # still alive
    assert down.returncode == 2 and "not a state file" in down.stderr, down.stderr
    assert state.read_text() == original  # not ours: never deleted


def test_stop_spares_a_process_whose_start_time_differs(tmp_path: Path, lookalike: subprocess.Popen[bytes]) -> None:
    # Our marker, the pid of a live process, but another start time: the pid was recycled.
    state = tmp_path / "emu.json"
    state.write_text(json.dumps({"marker": MARKER, "pid": lookalike.pid, "pid_start": _start_time(lookalike.pid) + 7}))
    state.chmod(0o600)
    down = _cli("--stop", "--state-file", str(state))
    assert down.returncode == 0 and "no emulator running" in down.stderr, down.stderr
    assert lookalike.poll() is None


@pytest.mark.parametrize("action", ["--stop", "--detach"])
def test_a_foreign_file_passed_as_state_file_is_never_touched(tmp_path: Path, action: str) -> None:
    package = tmp_path / "package.json"
    package.write_text('{"name": "my-app", "version": "1.0.0"}\n')
    result = _cli(action, "--state-file", str(package))
    if result.returncode == 0 and action == "--detach":
        _cli("--stop", "--state-file", str(package))
    assert result.returncode == 2, result.stderr
    assert "not a state file" in result.stderr
    assert package.read_text() == '{"name": "my-app", "version": "1.0.0"}\n'


@pytest.mark.parametrize("action", ["--stop", "--detach"])
def test_a_symlinked_state_file_is_refused_and_its_target_untouched(tmp_path: Path, action: str) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "emu.json"
    link.symlink_to(target)
    result = _cli(action, "--state-file", str(link))
    try:
        assert result.returncode == 2, result.stderr + result.stdout
        assert "symlink" in result.stderr
        assert target.read_text() == "keep me\n" and link.is_symlink()
    finally:
        if result.returncode == 0:
            _cli("--stop", "--state-file", str(link))


def test_detach_writes_nothing_through_a_dangling_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "keys.json"
    target.parent.mkdir()
    link = tmp_path / "emu.json"
    link.symlink_to(target)
    result = _cli("--detach", "--state-file", str(link))
    try:
        assert result.returncode == 2, result.stderr
        assert not target.exists()
    finally:
        if result.returncode == 0:
            _cli("--stop", "--state-file", str(link))


def test_stop_refuses_a_default_state_dir_others_can_write(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    shared = runtime / "reactor-ci"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    planted = shared / "emulator.json"
    planted.write_text(json.dumps({"marker": MARKER, "pid": os.getpid(), "pid_start": _start_time(os.getpid())}))
    down = _cli("--stop", env=_env(XDG_RUNTIME_DIR=str(runtime)))
    assert down.returncode == 2 and "not a private directory" in down.stderr, down.stderr
    assert planted.exists()


def test_an_existing_shared_work_dir_is_refused_never_chmoded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    result = subprocess.run(
        [sys.executable, "-m", "reactor_ci.emulator", "--work-dir", str(shared)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    assert "--work-dir" in result.stderr
    assert shared.stat().st_mode & 0o7777 == 0o1777


def test_detach_and_stop_still_work_and_the_state_names_its_process(tmp_path: Path) -> None:
    state = tmp_path / "emu.json"
    up = _cli("--detach", "--state-file", str(state))
    assert up.returncode == 0, up.stderr
    data = json.loads(state.read_text())
    try:
        assert data["marker"] == MARKER and data["pid_start"] == _start_time(data["pid"])
        assert state.stat().st_mode & 0o777 == 0o600
    finally:
        down = _cli("--stop", "--state-file", str(state))
    assert down.returncode == 0 and "stopped" in down.stderr, down.stderr
    assert not _alive(data["pid"]) and not state.exists()


@pytest.mark.parametrize("action", ["--detach", "--stop"])
def test_the_default_state_file_is_never_under_a_directory_others_can_write(tmp_path: Path, action: str) -> None:
    # XDG_RUNTIME_DIR others can write without the sticky bit: they could swap our private directory in it.
    runtime = tmp_path / "run"
    runtime.mkdir()
    runtime.chmod(0o777)
    result = _cli(action, env=_env(XDG_RUNTIME_DIR=str(runtime)))
    if result.returncode == 0 and action == "--detach":
        _cli("--stop", env=_env(XDG_RUNTIME_DIR=str(runtime)))
    assert result.returncode == 2, result.stderr
    assert "writable by other users" in result.stderr
    assert not (runtime / "reactor-ci").exists()
