"""Stopping the servers the emulator starts (the registry, a private dockerd): one rule.

SIGTERM by pid, a bounded wait, then SIGKILL -- to the child's whole process
group when it leads one (dockerd runs in its own session with the containerd
it started). Idempotent: a child that already exited is just reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["stop_child"]


def stop_child(proc: subprocess.Popen[bytes], timeout: float, *, group: bool = False) -> None:
    """Stop ``proc`` (started by us): SIGTERM, wait ``timeout``, then SIGKILL (its group with ``group``)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
