"""``reactor-ci emulator --detach`` / ``--stop``: the emulator in the background.

``--detach`` returns only once the emulator is READY -- listening, and its
state file written (atomically) -- so ``eval "$(reactor-ci emulator --detach)"``
never races a half-started server (issue 10.6: the old quick start did).  It
prints shell ``export`` lines and nothing secret: the keys stay in the 0600
state file.

The emulator never touches what it did not create (issue 19.3).  Its state
file is created exclusively (never replacing a file, never through a
symlink) and carries :data:`MARKER` plus the start time of the process that
wrote it (``/proc/PID/stat``).  ``--stop`` and ``--detach`` act only on a
regular file of this user holding that marker -- anything else (a
``package.json``, a symlink) is refused, exit 2, untouched -- and ``--stop``
signals the pid only when its start time is the recorded one: a recycled pid,
or any process whose arguments merely mention the emulator, is never killed.
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
from reactor_ci.fsutil import UnsafeFile, read_bounded

READY_TIMEOUT = 60.0  # --with-registry starts a registry too
STOP_TIMEOUT = 15.0
_MODULE = "reactor_ci.emulator"
_HAS_PROC = Path("/proc/self/stat").exists()
#: In every state file the emulator writes; a file without it is not ours to read, signal or delete.
MARKER = "reactor-ci-emulator-state/1"
_MAX_STATE_BYTES = 64 * 1024


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


def _private_dir(path: Path, *, create: bool = True) -> None:
    """Ours and 0700 -- created so, or refused (never chmod'ed: an existing directory is not ours to fix).

    Its parent must not be writable by others without the sticky bit either:
    there, another account could rename our directory away and put its own
    in its place (``/tmp``'s 1777 forbids that).
    """
    try:
        parent = os.stat(path.parent).st_mode
    except OSError:
        parent = 0
    if parent & 0o022 and not parent & 0o1000:
        raise DetachError(
            f"{path.parent} is writable by other users without the sticky bit: the emulator's keys cannot be "
            "kept there; pass --state-file PATH in a directory of your own",
            2,
        )
    if create:
        from reactor_ci.fsutil import make_private_dirs

        make_private_dirs(path)
    try:
        st = path.lstat()
    except FileNotFoundError:
        return  # nothing there (--stop): nothing to read either
    if st.st_uid != os.getuid() or st.st_mode & 0o077 or not path.is_dir() or path.is_symlink():
        raise DetachError(
            f"{path} is not a private directory of this user; remove it or pass --state-file PATH",
            2,
        )


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` (clock ticks since boot, ``/proc/PID/stat`` field 22); None when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def own_identity() -> dict[str, Any]:
    """What the emulator writes about itself into its state file: the marker, its pid, its start time."""
    return {"marker": MARKER, "pid": os.getpid(), "pid_start": process_start(os.getpid())}


def _not_ours(path: Path, why: str) -> DetachError:
    return DetachError(
        f"{path} {why}; the emulator touches only a state file it wrote, so it leaves it alone. "
        "Pass a --state-file path of its own (a new file name)",
        2,
    )


def _read_state(path: Path) -> dict[str, Any] | None:
    """The state file the emulator wrote at ``path``; None when nothing is there.

    Anything else there -- a symlink, another user's file, a file without the
    marker (a ``package.json`` passed by mistake) -- is a :class:`DetachError`
    (exit 2) and stays untouched.
    """
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise _not_ours(path, "is a symlink")
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        raise _not_ours(path, "is not a state file of this user's emulator")
    try:
        data = json.loads(read_bounded(path, _MAX_STATE_BYTES, follow_symlinks=False))
    except (OSError, UnsafeFile, ValueError, RecursionError):
        raise _not_ours(path, "is not a state file the emulator wrote") from None
    if not isinstance(data, dict) or data.get("marker") != MARKER:
        raise _not_ours(path, "is not a state file the emulator wrote (no marker)")
    return data


def _is_emulator(state: dict[str, Any]) -> bool:
    """The state's pid is alive AND is the very process that wrote it (same start time).

    Never a command-line match: any process can say "emulator". Without
    ``/proc`` the start time cannot be checked, so nothing is signalled.
    """
    pid = _pid_of(state)
    recorded = state.get("pid_start")
    if pid is None or pid <= 1 or not isinstance(recorded, int) or not _alive(pid):
        return False
    return process_start(pid) == recorded


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
    try:
        # Never through a symlink planted at the log's path (O_NOFOLLOW), created 0600.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        why = exc.strerror or exc.__class__.__name__
        raise DetachError(f"cannot create the emulator log {log_path} ({why}); pass another --state-file", 2) from None
    with os.fdopen(fd, "wb") as log:
        os.fchmod(log.fileno(), 0o600)
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
    path = Path(args.state_file)
    # The directory is resolved; the file name never is: a symlink there is refused, not followed.
    return path.parent.resolve() / path.name


def _remove_stale(path: Path, state: dict[str, Any] | None) -> None:
    """Remove a state file the emulator wrote whose process is gone (checked by :func:`_read_state`)."""
    if state is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def detach(args: argparse.Namespace) -> int:
    state_file = _state_file(args)
    if args.state_file:
        from reactor_ci.fsutil import make_private_dirs

        make_private_dirs(state_file.parent)
    else:
        _private_dir(state_file.parent)
    state = _read_state(state_file)
    if state is not None and _is_emulator(state):
        raise DetachError(
            f"an emulator already runs (pid {_pid_of(state)}, state file {state_file}); "
            "stop it with `reactor-ci emulator --stop` or pass another --state-file",
            2,
        )
    _remove_stale(state_file, state)  # its emulator is gone; its presence would read as "ready"
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
    if not args.state_file:
        _private_dir(state_file.parent, create=False)  # the default is read only from a private directory
    state = _read_state(state_file)
    if state is None or not _is_emulator(state):
        _remove_stale(state_file, state)  # ours (marker checked), and nothing runs behind it
        print(f"reactor-ci emulator: no emulator running (state file {state_file})", file=sys.stderr)
        return 0  # idempotent, like logout
    pid = _pid_of(state) or 0  # _is_emulator checked it
    if not terminate(pid):
        raise DetachError(f"emulator pid {pid} did not stop", 1)
    # A clean stop removes the state file itself; a SIGKILLed one could not.
    _remove_stale(state_file, state)
    print(f"reactor-ci emulator: stopped (pid {pid})", file=sys.stderr)
    return 0
