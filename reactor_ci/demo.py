"""`reactor-ci demo`: the main job end to end against the built-in emulator.

Starts the emulator on loopback in a temporary home, then runs the real
commands as a pipeline would (keys passed through the environment, never
argv): login + docker-login, status, two JWTs (one clamped), a leak scan that
catches a planted key, logout, and status again (now failing as it should).
Stops the emulator by its pid and removes the temporary home.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reactor_ci import console
from reactor_ci.errors import ExitCode, ReactorCIError

_CLEAN_ENV = ("REACTOR_API_KEY", "REACTOR_API_URL", "REACTOR_CREDENTIALS", "DOCKER_CONFIG", "GITHUB_ACTIONS")


@contextlib.contextmanager
def emulator(home: Path, *, with_registry: bool = False) -> Iterator[dict[str, Any]]:
    state_file = home / "emulator.json"
    log = (home / "emulator.log").open("wb")
    cmd = [sys.executable, "-m", "reactor_ci.emulator", "--state-file", str(state_file)]
    if with_registry:
        cmd.append("--with-registry")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=home)
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            if proc.poll() is not None:
                raise ReactorCIError(
                    f"the emulator exited with code {proc.returncode} before it was ready",
                    f"see its log: {home / 'emulator.log'} (run with --keep to look at it)",
                )
            if time.monotonic() > deadline:
                raise ReactorCIError("the emulator did not become ready within 60 s", "see emulator.log")
            time.sleep(0.05)
        yield json.loads(state_file.read_text())
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def run_demo(*, with_registry: bool = False, keep: bool = False) -> int:
    home = Path(tempfile.mkdtemp(prefix="reactor-ci-demo-"))
    os.chmod(home, 0o700)
    failures = 0
    try:
        with emulator(home, with_registry=with_registry) as state:
            console.info(f"Emulator ready at {state['url']} (organisation {state['partner_id']}).")
            base = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV and not k.startswith("GITHUB_")}
            base.update(HOME=str(home), REACTOR_API_URL=str(state["url"]), DOCKER_CONFIG=str(home / ".docker"))
            partner = {**base, "REACTOR_API_KEY": str(state["partner_key"])}
            app = {**base, "REACTOR_API_KEY": str(state["app_key"])}
            leak = home / "project" / "settings.py"
            leak.parent.mkdir()
            leak.write_text(f'REACTOR_KEY = "{state["partner_key"]}"\n')
            steps: list[tuple[str, list[str], dict[str, str], int]] = [
                ("log in with the partner key, register the Docker helper", ["login", "--docker-login"], partner, 0),
                ("show the stored credentials", ["status"], base, 0),
                ("mint a 15-minute JWT from the app key", ["token", "--expires-after", "900"], app, 0),
                ("ask for 24 h: the server clamps to 6 h, we warn", ["token", "--expires-after", "86400"], app, 0),
                ("a partner key used for a JWT is refused (exit 2)", ["token"], partner, 2),
                ("scan a file with a leaked key (exit 1, redacted)", ["scan", str(leak)], base, 1),
                ("log out (idempotent)", ["logout"], base, 0),
                ("status after logout fails (exit 3)", ["status"], base, 3),
            ]
            for title, argv, env, expected in steps:
                console.info(f"\n== {title}\n$ reactor-ci {' '.join(argv)}")
                code = subprocess.run(
                    [sys.executable, "-m", "reactor_ci", *argv], env=env, stdin=subprocess.DEVNULL, cwd=home
                ).returncode
                ok = code == expected
                failures += not ok
                console.info(f"-> exit {code} ({'as expected' if ok else f'EXPECTED {expected}'})")
    finally:
        if keep:
            console.info(f"\nKept the temporary home: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if failures:
        console.error(f"demo: {failures} step(s) did not behave as expected")
        return int(ExitCode.FAILURE)
    console.info("\nDemo complete: every step behaved as expected.")
    return int(ExitCode.OK)
