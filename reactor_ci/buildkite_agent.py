"""Masking on Buildkite: hand values to ``buildkite-agent redactor add``, import-light.

The one home of that rule, shared by the provider (:mod:`reactor_ci.ci.buildkite`, the
full path) and ``status``'s fast path, which must not pay for the ``ci`` package (~6 ms)
nor for ``subprocess`` (~3 ms of imports): os, select, time and the C JSON encoder only.

* A batch goes to ONE agent process: a JSON object on stdin (``--format json``; the agent
  adds each value of each key), never on argv, where ``ps`` shows it.
* An agent that rejects it (one older than ``--format json``, or a failing one) gets the
  per-line ``--format none`` calls reactor-ci always made, reported line by line as before.
* The process starts through ``os.posix_spawn`` and a pipe; its output goes to /dev/null
  (it never echoes a value, but nothing it says is ours to print), with a timeout.
"""

from __future__ import annotations

import os
import time
from _json import encode_basestring_ascii as _quote  # the C encoder json.dumps uses: no `re`

from reactor_ci.citables import BUILDKITE_AGENT, mask_lines

TYPE_CHECKING = False  # typing imports re; mypy reads this name as True
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["TIMEOUT", "add", "find", "payload"]

#: Seconds one agent call may take before it is killed (and reported, without the value).
TIMEOUT = 30.0


class _TimeoutExpired(Exception):
    """The agent did not finish in time (named as ``subprocess`` names it, in the warning)."""


_TimeoutExpired.__name__ = "TimeoutExpired"


def find(env: Mapping[str, str]) -> str | None:
    """The agent on ``env``'s ``PATH`` (``os.defpath`` when unset): an executable file, as
    ``shutil.which`` finds it, in absolute directories only -- a relative entry (``.`` or an
    empty one) would hand secrets to whatever the checked-out repository calls ``buildkite-agent``."""
    if not hasattr(os, "posix_spawn"):
        return None  # not a POSIX system: reactor-ci supports none other
    for entry in env.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(entry, BUILDKITE_AGENT)
        if os.path.isabs(entry) and os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def add(agent: str, values: Iterable[str], env: Mapping[str, str], timeout: float = TIMEOUT) -> list[str]:
    """Have ``agent`` redact every line of every value from the job's log; the warnings to print
    (each names what failed, never a value)."""
    lines = list(dict.fromkeys(line for value in values for line in mask_lines(value)))
    if not lines:
        return []
    try:
        if _run(agent, "json", payload(lines), env, timeout) == 0:
            return []
    except (OSError, _TimeoutExpired) as exc:
        return [_failed(exc)]
    warnings = []
    for line in lines:  # an agent before --format json (or one that fails): one call per line, as before
        try:
            status = _run(agent, "none", line.encode("utf-8", "surrogateescape"), env, timeout)
        except (OSError, _TimeoutExpired) as exc:
            warnings.append(_failed(exc))
            continue
        if status != 0:
            # The agent's stderr (discarded) never echoes the value it read on stdin.
            warnings.append(f"reactor-ci: warning: buildkite-agent redactor add exited {status}")
    return warnings


def payload(lines: list[str]) -> bytes:
    """The ``--format json`` input: a flat object, one key per line (distinct keys: a repeated one
    would keep only its last value), plain ASCII whatever the lines hold."""
    # --format none trims each value, json keeps it verbatim: strip, so the agent redacts what it did.
    return ("{" + ",".join(f'"{i}":{_quote(line.strip())}' for i, line in enumerate(lines)) + "}").encode()


def _failed(exc: BaseException) -> str:
    return f"reactor-ci: warning: buildkite-agent redactor add failed: {type(exc).__name__}"


def _run(agent: str, fmt: str, data: bytes, env: Mapping[str, str], timeout: float) -> int:
    """``agent redactor add --format fmt`` with ``data`` on stdin: its exit code (-N for signal N).

    Raises OSError when it cannot start, _TimeoutExpired (after killing it) when it overruns."""
    deadline = time.monotonic() + timeout
    stdin, feed = os.pipe()
    try:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            actions = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
            argv = [agent, "redactor", "add", "--format", fmt]
            pid = os.posix_spawn(agent, argv, dict(env), file_actions=actions)
        finally:
            os.close(null)
    except BaseException:
        os.close(feed)
        raise
    finally:
        os.close(stdin)
    try:
        _feed(feed, data, deadline)
        return _wait(pid, deadline)
    except BaseException:
        _kill(pid)
        raise


def _feed(fd: int, data: bytes, deadline: float) -> None:
    """Write ``data`` to the child's stdin and close it, never blocking past ``deadline``
    (a child that does not read must not hang us once the pipe is full)."""
    import select  # a C module: cheap

    try:
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimeoutExpired()
            if not select.select([], [fd], [], left)[1]:
                continue
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                return  # it exited without reading all: its exit code tells
    finally:
        os.close(fd)


def _wait(pid: int, deadline: float) -> int:
    """The exit code of ``pid``, waiting at most until ``deadline``."""
    import select

    try:
        handle = os.pidfd_open(pid)  # Linux 5.3+: readable when the child exits
    except (AttributeError, OSError):
        handle = -1
    try:
        pause = 0.0005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimeoutExpired()
            if handle >= 0:
                select.select([handle], [], [], left)
            else:  # no pidfd: poll, backing off
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.05)
    finally:
        if handle >= 0:
            os.close(handle)


def _kill(pid: int) -> None:
    """Stop and reap ``pid`` (still running after a timeout or an interrupt)."""
    try:
        os.kill(pid, 9)  # SIGKILL; the signal module would import enum
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
