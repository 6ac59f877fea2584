"""Pytest fixtures: a real emulator subprocess on 127.0.0.1 per test.

Use ``pytest_plugins = ["tests.emulator_fixtures"]`` in a conftest (or import
the fixtures).  Each ``emulator`` is a fresh ``python -m reactor_ci.emulator``
process, so tests never share keys, faults or counters, and a client under
test talks real HTTP to a real server, exactly as it would talk to Reactor.

    def test_login(emulator):
        emulator.inject_fault(path="/v1/registry/token", status=503, count=2)
        env = emulator.env("partner")   # REACTOR_API_URL + REACTOR_API_KEY
        ...
        assert emulator.stats()["registry_tokens_issued"] == 1
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT

if TYPE_CHECKING:
    from reactor_ci.emulator.server import Emulator

START_TIMEOUT = 30.0

__all__ = ["EmulatorProcess", "emulator", "emulator_with_registry", "running_emulator", "start_emulator"]


class EmulatorError(AssertionError):
    pass


class EmulatorProcess:
    """A running emulator subprocess and helpers for its control API."""

    def __init__(self, proc: subprocess.Popen[bytes], state: dict[str, Any], state_file: Path, log_path: Path) -> None:
        self.proc = proc
        self.state = state
        self.state_file = state_file
        self.log_path = log_path
        self._http = httpx.Client(timeout=10.0, trust_env=False)

    # -- what a client under test needs ----------------------------------------
    @property
    def url(self) -> str:
        return str(self.state["url"])

    @property
    def control_url(self) -> str:
        return str(self.state["control_url"])

    @property
    def realm(self) -> str:
        return str(self.state["realm"])

    @property
    def partner_key(self) -> str:
        return str(self.state["partner_key"])

    @property
    def app_key(self) -> str:
        return str(self.state["app_key"])

    @property
    def partner_id(self) -> str:
        return str(self.state["partner_id"])

    @property
    def registry(self) -> str:
        return str(self.state["registry"])

    @property
    def registry_host(self) -> str:
        return str(self.state["registry_host"])

    @property
    def registry_url(self) -> str | None:
        """``http://127.0.0.1:PORT`` of the real registry (emulator_with_registry only)."""
        return self.state.get("registry_url")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def env(self, kind: str = "partner") -> dict[str, str]:
        """Environment for a reactor-ci subprocess: API URL and the key of ``kind``.

        With a real registry, also ``REACTOR_CI_REGISTRY_HOSTS``: its host is
        127.0.0.1:PORT, which reactor-ci allows only when named there.
        """
        key = self.partner_key if kind == "partner" else self.app_key
        env = {"REACTOR_API_URL": self.url, "REACTOR_API_KEY": key}
        if self.registry_url:
            env["REACTOR_CI_REGISTRY_HOSTS"] = self.registry_host
        return env

    def log(self) -> str:
        """The emulator's stderr so far (requests are logged, redacted)."""
        return self.log_path.read_text(errors="replace")

    # -- control API -------------------------------------------------------------
    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call ``/_emulator/<path>``; raise on an error status; return the JSON answer."""
        path = path if path.startswith("/_emulator") else "/_emulator/" + path.lstrip("/")
        resp = self._http.request(method, self.url + path, json=json)
        if resp.status_code >= 400:
            raise EmulatorError(f"control {method} {path} -> {resp.status_code}: {resp.text}")
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def inject_fault(self, **spec: Any) -> dict[str, Any]:
        """Queue a fault: path, method, count, status, body, content_type, headers, delay, action."""
        result: dict[str, Any] = self.control("POST", "faults", spec)
        return result

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "stats")
        return result

    def reset_stats(self) -> None:
        """Zero the counters and empty the request log."""
        self.control("POST", "reset-stats")

    def requests(self) -> list[dict[str, Any]]:
        """Recent non-control requests, oldest first: method, path, query, key (redacted),
        body (JSON-decoded when possible), status (None = dropped), fault."""
        result: list[dict[str, Any]] = self.control("GET", "requests")["requests"]
        return result

    def revoke(self, key: str) -> None:
        self.control("POST", "keys/revoke", {"key": key})

    def expire(self, key: str) -> None:
        self.control("POST", "keys/expire", {"key": key})

    def expire_registry_tokens(self, registry_token: str | None = None, partner_id: str | None = None) -> int:
        body = {"registry_token": registry_token} if registry_token else {"partner_id": partner_id or self.partner_id}
        return int(self.control("POST", "registry-tokens/expire", body)["expired"])

    def config(self, **values: int) -> dict[str, Any]:
        """``registry_token_ttl`` / ``app_token_max`` in seconds; returns the new config."""
        result: dict[str, Any] = self.control("POST", "config", values)
        return result

    def new_org(self, partner_id: str) -> dict[str, Any]:
        """-> {"partner_id", "registry", "partner_key", "app_key"}"""
        result: dict[str, Any] = self.control("POST", "orgs", {"partner_id": partner_id})
        return result

    def new_key(self, kind: str = "partner", partner_id: str | None = None) -> str:
        body: dict[str, Any] = {"kind": kind}
        if partner_id:
            body["partner_id"] = partner_id
        return str(self.control("POST", "keys", body)["key"])

    def verify_jwt(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "verify-jwt", {"jwt": token})
        return result

    # -- lifecycle -------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM by pid, SIGKILL after ``timeout``; returns the exit status."""
        self._http.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        return int(self.proc.returncode)


def start_emulator(directory: Path, *args: str, timeout: float = START_TIMEOUT) -> EmulatorProcess:
    """Start ``python -m reactor_ci.emulator ARGS`` and wait for its state file.

    ``args`` are extra CLI options, e.g. ``"--registry-token-ttl", "5"``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / "emulator-state.json"
    log_path = directory / "emulator.log"
    env = dict(os.environ)
    # Importable even when the package is not pip-installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    from reactor_ci.emulator.detach import DetachError, start_background

    try:
        proc, state = start_background(["-v", *args], state_file, log_path, cwd=REPO_ROOT, env=env, timeout=timeout)
    except DetachError as exc:
        raise EmulatorError(
            f"emulator did not start (exit {exc.code}):\n{log_path.read_text(errors='replace')}"
        ) from None
    return EmulatorProcess(proc, state, state_file, log_path)


@contextlib.contextmanager
def running_emulator(directory: Path, *args: str) -> Iterator[EmulatorProcess]:
    emu = start_emulator(directory, *args)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """A fresh emulator subprocess (API + realm, no registry) for this test."""
    with running_emulator(tmp_path_factory.mktemp("emulator")) as emu:
        yield emu


@pytest.fixture
def emulator_with_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """Same, plus a real docker-registry (distribution 2.8) on 127.0.0.1 behind the realm.

    ``.registry`` is ``127.0.0.1:PORT/<partner_id>``, ``.registry_url`` its http URL.
    """
    require_tool("docker-registry", "apt-get install docker-registry")
    with running_emulator(tmp_path_factory.mktemp("emulator"), "--with-registry") as emu:
        yield emu


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """In-process emulator: still real HTTP on loopback, with direct state access and no process start."""
    from reactor_ci.emulator.server import Emulator

    with Emulator() as e:
        yield e


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain HTTP client that ignores proxy settings from the environment."""
    with httpx.Client(timeout=10, trust_env=False) as c:
        yield c
