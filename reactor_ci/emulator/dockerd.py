"""A private Docker engine on its own socket: the ONE dockerd lifecycle.

Used by ``reactor-ci demo`` and by the test fixtures (tests/docker_fixtures.py),
so the rules of /work/shared/docker-notes.md live in one place: own data and
exec roots under a SHORT /tmp path (a unix socket path is limited to ~108
bytes), vfs storage, no bridge, no iptables, its own session (start_new_session,
so a terminal's Ctrl-C does not reach it), stopped by its pid -- never by name:
the user's own dockerd may run beside it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from reactor_ci.emulator.children import stop_child

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


class DockerdError(RuntimeError):
    pass


@dataclass
class Dockerd:
    host: str  # the DOCKER_HOST value, unix://...
    root: Path
    pid: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None


def why_unavailable() -> str | None:
    """None when a private dockerd can start here, else what is missing and how to get it."""
    for tool in ("dockerd", "docker"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH (Debian: apt-get install docker.io)"
    if os.geteuid() != 0:
        return "a private dockerd needs root here (no rootless set-up): run as root"
    return None


def ping(host: str, timeout: float = 2.0) -> bool:
    """``GET /_ping`` over the unix socket: the engine answers ``OK`` once it serves."""
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = sock.recv(64)
    except OSError:
        return False
    return answer.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))


def _log_tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


def start(root: Path | None = None, *, timeout: float = START_TIMEOUT) -> Dockerd:
    """Start dockerd and return once it answers; raise :class:`DockerdError` otherwise."""
    exe = shutil.which("dockerd")
    if exe is None:
        raise DockerdError("dockerd is not on PATH (Debian: apt-get install docker.io)")
    root = root or Path(tempfile.mkdtemp(prefix="rcd-", dir="/tmp"))
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    host = f"unix://{root / 's'}"
    log = root / "dockerd.log"
    # fmt: off
    argv = [
        exe,
        "--data-root", str(root / "d"),
        "--exec-root", str(root / "x"),
        "--pidfile", str(root / "p"),
        "--host", host,
        "--storage-driver", "vfs",
        "--iptables=false", "--ip6tables=false", "--bridge=none",
    ]
    # fmt: on
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    engine = Dockerd(host=host, root=root, pid=proc.pid, log=log, proc=proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DockerdError(f"dockerd exited with code {proc.returncode}:\n{_log_tail(log)}")
        if ping(host):
            return engine
        time.sleep(0.1)
    stop(engine)
    raise DockerdError(f"dockerd did not answer within {timeout:.0f} s:\n{_log_tail(log)}")


def stop(engine: Dockerd, *, remove: bool = True) -> None:
    """SIGTERM by pid, SIGKILL to its process group after a timeout; idempotent."""
    if engine.proc is not None:
        # Its own session: the group is dockerd and the containerd it started, nothing else.
        stop_child(engine.proc, STOP_TIMEOUT, group=True)
    if remove:
        shutil.rmtree(engine.root, ignore_errors=True)


def import_image(env: Mapping[str, str], ref: str, content: bytes) -> None:
    """A one-file, one-layer image from a tarball: ``docker import`` (no pull: no network)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(content))
    proc = subprocess.run(
        ["docker", "import", "-", ref], input=buf.getvalue(), env=dict(env), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise DockerdError(f"docker import {ref} failed: {proc.stderr.decode(errors='replace')[-2000:]}")


@contextlib.contextmanager
def running(root: Path | None = None) -> Iterator[Dockerd]:
    engine = start(root)
    try:
        yield engine
    finally:
        stop(engine)
