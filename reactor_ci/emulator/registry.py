"""A real distribution 2.8 registry (Debian ``docker-registry``) wired to our realm.

Started as a child process on a free loopback port, with filesystem storage in
the emulator's private work dir, and stopped by its pid -- never by name, since
other registries (another test's, the user's) may be running on the machine.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reactor_ci.emulator.children import stop_child

BINARY = "docker-registry"


class RegistryError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    # Racy by nature (another process may take it before the registry binds);
    # start() retries with a new port when the registry exits early.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _config(addr: str, root: Path, realm: str, service: str, issuer: str, cert: Path) -> str:
    # Written by hand: PyYAML is not a dependency of the emulator, and the
    # values are all plain scalars we control.
    return f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
  secret: {secrets.token_hex(16)}
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {cert}
"""


def _parent_death_signal() -> Callable[[], None]:
    """A preexec_fn so the registry dies with us even if we are SIGKILLed.

    Resolved BEFORE fork: looking a symbol up in the child of a threaded
    process could take a lock some other thread held at fork time.
    """
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def _set() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return _set


class Registry:
    def __init__(
        self, work_dir: Path, realm: str, service: str, issuer: str, cert: Path, binary: str | None = None
    ) -> None:
        found = binary or shutil.which(BINARY)
        if not found:
            raise RegistryError(f"{BINARY} not found on PATH (Debian: apt-get install docker-registry)")
        self.binary = found
        self.work_dir = work_dir
        self.realm, self.service, self.issuer, self.cert = realm, service, issuer, cert
        self.log_path = work_dir / "registry.log"
        self.config_path = work_dir / "registry.yml"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 20.0, attempts: int = 3) -> None:
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            self.config_path.write_text(
                _config(self.host, self.work_dir / "registry-data", self.realm, self.service, self.issuer, self.cert)
            )
            # REGISTRY_* variables override the config file; a stray one in the
            # user's environment must not redirect storage or the listener.
            env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
            preexec = _parent_death_signal() if threading.current_thread() is threading.main_thread() else None
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary, "serve", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=env,
                    start_new_session=True,
                    preexec_fn=preexec,
                )
            atexit.register(self.stop)
            if self._wait_ready(timeout):
                return
            last = self._log_tail()
            self.stop()
        raise RegistryError(f"docker-registry did not become ready; log tail:\n{last}")

    def _wait_ready(self, timeout: float) -> bool:
        """Ready = ``GET /v2/`` answers 401 (token auth is on and the realm is configured)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/v2/")
                if conn.getresponse().status == 401:
                    return True
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; idempotent and safe from atexit."""
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        stop_child(proc, timeout)
