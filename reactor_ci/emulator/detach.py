"""``reactor-ci emulator --detach`` / ``--stop``: the emulator in the background.

``--detach`` returns only once the emulator is READY -- listening, and its
state file written (atomically) -- so ``eval "$(reactor-ci emulator --detach)"``
never races a half-started server (issue 10.6: the old quick start did).  It
prints shell ``export`` lines and nothing secret: the keys stay in the 0600
state file.  ``--stop`` ends the emulator named by the state file, by its pid,
and only after checking that pid still is an emulator.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reactor_ci import settings

READY_TIMEOUT = 60.0  # --with-registry starts a registry too
STOP_TIMEOUT = 15.0
_MODULE = "reactor_ci.emulator"
_HAS_PROC = Path("/proc/self/stat").exists()


class DetachError(Exception):
    """A refusal with its exit code (2 usage, 1 failure) and the fix in the message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def default_state_file() -> Path:
    """Per user: ``$XDG_RUNTIME_DIR/reactor-ci/`` or ``<tmp>/reactor-ci-<uid>/``; never HOME.

    The state file holds the emulator's (throw-away) keys, so its directory is
    0700 and must be ours: another user could pre-create a shared /tmp path.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "reactor-ci" if runtime else Path(tempfile.gettempdir()) / f"reactor-ci-{os.getuid()}"
    return base / "emulator.json"


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077 or not path.is_dir() or path.is_symlink():
        raise DetachError(
            f"{path} is not a private directory of this user; remove it or pass --state-file PATH",
            2,
        )


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise DetachError(f"cannot read the emulator state file {path}; remove it if no emulator runs", 2) from None
    return data if isinstance(data, dict) else None


def _is_emulator(pid: int) -> bool:
    """The pid is alive AND runs the emulator (a recycled pid must never be killed).

    Linux tells by ``/proc/PID/cmdline``; elsewhere only liveness can be checked.
    """
    if pid <= 1 or not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not _HAS_PROC
    if _MODULE.encode() in cmdline:
        return True
    return b"emulator" in cmdline and any(a.endswith((b"reactor-ci", b"reactor_ci")) for a in cmdline)


def _alive(pid: int) -> bool:
    """Running and not a zombie (a zombie is gone for our purpose: its parent just has not reaped it)."""
    if _HAS_PROC:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_of(state: dict[str, Any] | None) -> int | None:
    pid = state.get("pid") if state else None
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def child_options(args: argparse.Namespace) -> list[str]:
    """The foreground emulator's options, the same as ours (a key never is one)."""
    opts = ["--host", args.host, "--port", str(args.port), "--partner-id", args.partner_id]
    opts += ["--registry-token-ttl", str(args.registry_token_ttl), "--app-token-max", str(args.app_token_max)]
    if args.work_dir:
        opts += ["--work-dir", str(Path(args.work_dir).resolve())]
    for flag in ("with_registry", "allow_non_loopback", "verbose"):
        if getattr(args, flag):
            opts.append("--" + flag.replace("_", "-"))
    return opts


def start_background(
    options: list[str],
    state_file: Path,
    log_path: Path,
    *,
    cwd: Path,
    timeout: float = READY_TIMEOUT,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start ``python -m reactor_ci.emulator`` and return once its state file exists.

    Shared by ``--detach`` and ``reactor-ci demo``.  Ready means listening and
    the state file written (atomically: once it exists it is complete).  A
    child that exits first is a :class:`DetachError` with its own exit code
    and its log tail (exit 2 for a bad option or a missing extra).  Also the
    start of the test fixtures (tests/emulator_fixtures.py).
    """
    with open(log_path, "wb") as log:
        os.chmod(log_path, 0o600)
        proc = subprocess.Popen(
            [sys.executable, "-m", _MODULE, "--state-file", str(state_file), *options],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=cwd,
            env=env,
            # Its own session: the terminal's Ctrl-C or the end of this shell
            # does not stop it; --stop (or kill PID) does.
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not state_file.exists():
        code = proc.poll()
        if code is not None:
            tail = log_path.read_text(errors="replace")[-2000:].strip().removeprefix("reactor-ci emulator: ")
            raise DetachError(tail or f"the emulator exited with code {code} before it was ready", code or 1)
        if time.monotonic() > deadline:
            terminate(proc.pid)
            raise DetachError(f"the emulator was not ready within {timeout:.0f} s; see {log_path}", 1)
        time.sleep(0.02)
    return proc, _read_state(state_file) or {}


def _state_file(args: argparse.Namespace) -> Path:
    if not args.state_file:
        return default_state_file()
    if any(ord(c) < 32 or ord(c) == 127 for c in args.state_file):
        # Its path is echoed into lines a shell evals; a newline would end a
        # comment line and run the rest as a command.
        raise DetachError("--state-file must not contain control characters (newline, tab, ...)", 2)
    return Path(args.state_file).resolve()


def detach(args: argparse.Namespace) -> int:
    state_file = _state_file(args)
    if args.state_file:
        state_file.parent.mkdir(parents=True, exist_ok=True)
    else:
        _private_dir(state_file.parent)
    pid = _pid_of(_read_state(state_file))
    if pid is not None and _is_emulator(pid):
        raise DetachError(
            f"an emulator already runs (pid {pid}, state file {state_file}); "
            "stop it with `reactor-ci emulator --stop` or pass another --state-file",
            2,
        )
    with contextlib.suppress(FileNotFoundError):
        state_file.unlink()  # stale: its emulator is gone; its presence would read as "ready"
    log_path = state_file.with_suffix(".log")
    proc, state = start_background(child_options(args), state_file, log_path, cwd=state_file.parent)
    print_exports(state, state_file, log_path, proc.pid)
    return 0


def print_exports(state: dict[str, Any], state_file: Path, log_path: Path, pid: int) -> None:
    q = shlex.quote
    lines = [
        f"export REACTOR_API_URL={q(str(state.get('url', '')))}",
        f"export REACTOR_EMULATOR_STATE={q(str(state_file))}",
        f"export REACTOR_EMULATOR_PID={pid}",
    ]
    if state.get("registry_url"):
        lines.append(f"export REACTOR_EMULATOR_REGISTRY={q(str(state['registry']))}")
        # reactor-ci pushes only to allowed registry hosts (*.reactor.inc and these).
        lines.append(f"export {settings.REGISTRY_HOSTS}={q(str(state['registry_host']))}")
    where = "" if state_file == default_state_file() else f" --state-file {q(str(state_file))}"
    lines += [
        f"# emulator ready (pid {pid}); keys are in the state file (0600), log: {q(str(log_path))}",
        f"# stop it: reactor-ci emulator --stop{where}  (or: kill {pid})",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def terminate(pid: int) -> bool:
    """SIGTERM, wait, SIGKILL; True once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for sig in (None, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
            if not _alive(pid):
                return True
            time.sleep(0.05)
    return False


def stop(args: argparse.Namespace) -> int:
    state_file = _state_file(args)
    state = _read_state(state_file)
    pid = _pid_of(state)
    if pid is None or not _is_emulator(pid):
        with contextlib.suppress(FileNotFoundError):
            if state is not None:
                state_file.unlink()  # stale: nothing runs behind it
        print(f"reactor-ci emulator: no emulator running (state file {state_file})", file=sys.stderr)
        return 0  # idempotent, like logout
    if not terminate(pid):
        raise DetachError(f"emulator pid {pid} did not stop", 1)
    # A clean stop removes the state file itself; a SIGKILLed one could not.
    with contextlib.suppress(FileNotFoundError):
        state_file.unlink()
    print(f"reactor-ci emulator: stopped (pid {pid})", file=sys.stderr)
    return 0
