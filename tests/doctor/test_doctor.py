"""``reactor-ci doctor`` on real parts: each failing check provoked for real.

The doctor runs as a subprocess (what users run) against the in-process
emulator over loopback HTTP, a real forward-proxy port that is dead, a tiny
loopback server that lies about the time or answers hostile text, real files
with wrong modes and real Docker configs. The daemon probe points at a socket
that does not exist here; tests/e2e/test_doctor_docker.py runs a real dockerd.
Every run is grepped for the key, its body, the registry token and the
base64 ``user:token`` (the canary).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import sysconfig
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from reactor_ci.emulator.server import Emulator
from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret

SCRIPTS = sysconfig.get_path("scripts")


# -- helpers ---------------------------------------------------------------------------
def _env(home: Path, api_url: str, **extra: str) -> dict[str, str]:
    path = os.pathsep.join([SCRIPTS, os.environ.get("PATH", "/usr/bin:/bin")])
    env = base_env(
        home,
        api_url,
        PATH=path,
        DOCKER_CONFIG=str(home / "docker"),
        DOCKER_HOST=f"unix://{home}/no-docker.sock",
        REACTOR_CI_PROVIDER="local",
    )
    env.update(extra)
    return env


def _doctor(env: dict[str, str]) -> tuple[Result, list[dict[str, str]]]:
    result = run(["doctor", "--json", "--timeout", "3"], env, timeout=60)
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data, result
    for item in data:
        assert set(item) == {"check", "status", "detail", "fix"}, item
        assert item["status"] in ("ok", "warn", "fail"), item
        if item["status"] != "ok":
            assert item["fix"], item  # every problem comes with its fix
    # Human report on stderr, one line per result at least.
    assert "reactor-ci doctor" in result.stderr
    return result, data


def _of(data: list[dict[str, str]], check: str, status: str | None = None) -> list[dict[str, str]]:
    found = [d for d in data if d["check"] == check and (status is None or d["status"] == status)]
    assert found, f"no {check}/{status} in {json.dumps(data, indent=1)}"
    return found


def _control(emu: Emulator, action: str, key: str) -> None:
    """Revoke or expire a key through the emulator's control API, over HTTP like any client."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        answer = client.post(f"{emu.control_url}/keys/{action}", json={"key": key})
    assert answer.status_code == 200, answer.text


def _login(env: dict[str, str], key: str) -> None:
    result = run(["login", "--docker-login"], {**env, "REACTOR_API_KEY": key})
    assert result.code == 0, result.stderr


def _secrets(home: Path, *keys: str, creds: Path | None = None) -> list[str]:
    """Keys, their bodies, and what the credentials file holds (token, base64 user:token)."""
    values: list[str] = []
    for key in keys:
        values += [key, key[3:]]
    creds = creds or home / ".reactor" / "credentials"
    if creds.exists():
        data = json.loads(creds.read_text())
        token, user = data["registry_token"], data.get("registry_username") or data["partner_id"]
        values += [token, base64.b64encode(f"{user}:{token}".encode()).decode()]
    return values


def _edit_credentials(home: Path, **changes: object) -> None:
    """Rewrite fields of the stored credentials (None removes one), keeping the file 0600."""
    path = home / ".reactor" / "credentials"
    data = json.loads(path.read_text())
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def logged_in(emu: Emulator, home: Path) -> dict[str, str]:
    """A healthy setup (login + credential helper registered) but no Docker daemon."""
    env = _env(home, emu.url, REACTOR_API_KEY=emu.partner_key)
    _login(env, emu.partner_key)
    return env


# -- the healthy path, and the daemon that is down ----------------------------------------
def test_healthy_setup_passes_every_check_but_the_missing_daemon(
    emu: Emulator, home: Path, logged_in: dict[str, str]
) -> None:
    result, data = _doctor(logged_in)
    failed = [d for d in data if d["status"] == "fail"]
    assert [d["check"] for d in failed] == ["docker-daemon"], data
    # The socket it tried is named, so "Cannot connect" is never a riddle.
    assert f"{home}/no-docker.sock" in failed[0]["detail"]
    assert result.code == 5
    for check in ("credentials", "proxy", "api", "clock", "key", "helper", "docker-config"):
        assert all(d["status"] == "ok" for d in _of(data, check)), data
    assert emu.partner_id in _of(data, "key", "ok")[0]["detail"]
    assert "rp_…" in _of(data, "key", "ok")[0]["detail"]  # redacted, recognisable
    assert_no_secret([result.output], _secrets(home, emu.partner_key))


def test_app_key_only_needs_no_credentials_nor_docker(emu: Emulator, home: Path) -> None:
    env = _env(home, emu.url, REACTOR_API_KEY=emu.app_key)
    result, data = _doctor(env)
    assert result.code == 0, result.stderr
    assert "live" in _of(data, "key", "ok")[0]["detail"]
    assert all(d["status"] == "ok" for d in data), data
    assert_no_secret([result.output], _secrets(home, emu.app_key))


# -- the credentials file ------------------------------------------------------------------
def test_no_credentials_is_an_auth_failure(emu: Emulator, home: Path) -> None:
    result, data = _doctor(_env(home, emu.url, REACTOR_API_KEY=emu.partner_key))
    assert result.code == 3
    assert "reactor-ci login" in _of(data, "credentials", "fail")[0]["fix"]


def test_world_readable_credentials_fail_and_the_doctor_changes_nothing(
    emu: Emulator, home: Path, logged_in: dict[str, str]
) -> None:
    path = home / ".reactor" / "credentials"
    os.chmod(path, 0o644)
    before = path.read_bytes()
    result, data = _doctor(logged_in)
    bad = _of(data, "credentials", "fail")[0]
    assert "644" in bad["detail"] and "chmod 600" in bad["fix"]
    assert result.code == 2  # the first failure is local configuration
    # Read-only: the problem is reported, not silently repaired behind the report.
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_bytes() == before
    assert_no_secret([result.output], _secrets(home, emu.partner_key))


def test_implausible_expiry_and_future_issue_time_are_flagged(
    emu: Emulator, home: Path, logged_in: dict[str, str]
) -> None:
    _edit_credentials(
        home, registry_token_expiry="2099-01-01T00:00:00Z", registry_token_issued_at="2098-12-31T00:00:00Z"
    )
    _, report = _doctor(logged_in)
    warns = " ".join(d["detail"] for d in _of(report, "credentials", "warn"))
    assert "longer than a registry token lives" in warns and "lies in the future" in warns


@pytest.mark.parametrize("damage", ["truncated", "expiry 1e300", "year 1"])
def test_damaged_credentials_file_is_a_config_failure(
    emu: Emulator, home: Path, logged_in: dict[str, str], damage: str
) -> None:
    if damage == "truncated":
        path = home / ".reactor" / "credentials"
        path.write_text(path.read_text()[:-20])
    else:
        _edit_credentials(
            home, registry_token_expiry=1e300 if damage == "expiry 1e300" else "0001-01-01T00:00:00+01:00"
        )
    result, data = _doctor(logged_in)
    assert result.code == 2
    _of(data, "credentials", "fail")
    assert_no_secret([result.output], [emu.partner_key, emu.partner_key[3:]])


def test_expired_registry_token_is_a_warning_the_helper_recovers(
    emu: Emulator, home: Path, logged_in: dict[str, str]
) -> None:
    _edit_credentials(home, registry_token_expiry="2020-01-01T00:00:00Z", registry_token_issued_at=None)
    result, report = _doctor(logged_in)
    assert "expired at 2020-01-01" in _of(report, "credentials", "warn")[0]["detail"]
    assert result.code == 5  # only the missing daemon fails


# -- the key --------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["revoked", "expired", "invalid"])
def test_dead_partner_key_is_named(emu: Emulator, home: Path, logged_in: dict[str, str], what: str) -> None:
    env = dict(logged_in)
    if what == "revoked":
        _control(emu, "revoke", emu.partner_key)
    elif what == "expired":
        _control(emu, "expire", emu.partner_key)
    else:
        env["REACTOR_API_KEY"] = "rp_" + "Z" * 32  # unknown to the API
    result, data = _doctor(env)
    bad = _of(data, "key", "fail")[0]
    assert f"is {what}" in bad["detail"], bad
    assert result.code == 3
    if what == "invalid":  # a different key than the stored one is worth saying
        assert "not the key the stored credentials use" in _of(data, "key", "warn")[0]["detail"]
    assert_no_secret([result.output], _secrets(home, emu.partner_key, env["REACTOR_API_KEY"]))


def test_revoked_app_key(emu: Emulator, home: Path) -> None:
    _control(emu, "revoke", emu.app_key)
    result, data = _doctor(_env(home, emu.url, REACTOR_API_KEY=emu.app_key))
    assert "is revoked" in _of(data, "key", "fail")[0]["detail"]
    assert result.code == 3
    assert_no_secret([result.output], [emu.app_key, emu.app_key[3:]])


def test_stripe_key_is_refused_and_never_sent(emu: Emulator, home: Path) -> None:
    stripe = "rk_live_" + "S" * 40
    result, data = _doctor(_env(home, emu.url, REACTOR_API_KEY=stripe))
    assert "Stripe" in _of(data, "key", "fail")[0]["detail"]
    assert result.code == 2
    assert all(r["path"] != "/tokens" for r in emu.state.recent_requests())
    assert_no_secret([result.output], [stripe, stripe[3:]])


# -- Docker side ----------------------------------------------------------------------------------
def test_helper_only_in_a_venv_not_on_path(emu: Emulator, home: Path, logged_in: dict[str, str]) -> None:
    env = {**logged_in, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    result, data = _doctor(env)
    bad = _of(data, "helper", "fail")[0]
    assert "ANONYMOUSLY" in bad["detail"] and SCRIPTS in bad["detail"]
    assert f'export PATH="{SCRIPTS}:$PATH"' in bad["fix"]
    assert result.code == 5
    assert next(d["check"] for d in data if d["status"] == "fail") == "helper"


def _write_config(env: dict[str, str], data: dict[str, Any]) -> Path:
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.slow
def test_docker_config_conflicts(emu: Emulator, home: Path, logged_in: dict[str, str]) -> None:
    host = emu.registry_host
    stale = base64.b64encode(b"acme:canary-stale-docker-token-123456").decode()
    secrets = [stale, "canary-stale-docker-token-123456", *_secrets(home, emu.partner_key)]

    _write_config(logged_in, {"credsStore": "desktop", "auths": {host: {"auth": stale}}})
    result, data = _doctor(logged_in)
    bad = _of(data, "docker-config", "fail")[0]
    assert "credsStore" in bad["detail"] and "desktop" in bad["detail"] and host in bad["detail"]
    assert "reactor-ci docker-login" in bad["fix"] and result.code == 5
    outputs = [result.output]

    _write_config(logged_in, {"credHelpers": {host: "reactor"}, "auths": {f"https://{host}/v1/": {"auth": stale}}})
    result, data = _doctor(logged_in)
    assert "static login" in _of(data, "docker-config", "warn")[0]["detail"]
    outputs.append(result.output)

    _write_config(logged_in, {"credHelpers": {host: "ecr-login"}})
    result, data = _doctor(logged_in)
    assert '"ecr-login"' in _of(data, "docker-config", "fail")[0]["detail"]
    outputs.append(result.output)

    _write_config(logged_in, {})
    result, data = _doctor(logged_in)
    assert "ANONYMOUSLY" in _of(data, "docker-config", "fail")[0]["detail"]
    outputs.append(result.output)

    (Path(logged_in["DOCKER_CONFIG"]) / "config.json").write_text("{not json")
    result, data = _doctor(logged_in)
    assert result.code == 2
    _of(data, "docker-config", "fail")
    outputs.append(result.output)
    assert_no_secret(outputs, secrets)


# -- proxy --------------------------------------------------------------------------------
def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_proxy_fails_and_no_proxy_bypasses_it(emu: Emulator, home: Path, logged_in: dict[str, str]) -> None:
    proxy = f"http://someone:proxy-pass-canary@127.0.0.1:{_dead_port()}"
    env = {**logged_in, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy}
    # The emulator is plain http on loopback: the client never sends it through a
    # proxy (the key would travel in clear), and the doctor says so (issue 19.2).
    plain, data = _doctor(env)
    assert "ignores HTTP_PROXY" in _of(data, "proxy", "ok")[0]["detail"]
    assert _of(data, "api", "ok") and _of(data, "key", "ok")

    https = {**env, "REACTOR_API_URL": f"https://localhost:{_dead_port()}"}
    result, data = _doctor(https)
    bad = _of(data, "proxy", "fail")[0]
    assert "HTTPS_PROXY" in bad["detail"] and "NO_PROXY" in bad["fix"]
    assert result.code == 4
    _of(data, "api", "fail")  # the API is really unreachable through it
    assert "not checked" in _of(data, "key", "warn")[0]["detail"]

    direct, data = _doctor({**https, "NO_PROXY": "localhost"})
    assert "bypasses" in _of(data, "proxy", "ok")[0]["detail"]
    # The proxy's password is a secret too.
    outputs = [plain.output, result.output, direct.output]
    assert_no_secret(outputs, ["proxy-pass-canary", *_secrets(home, emu.partner_key)])


# -- a server that lies about the time, or answers hostile text ----------------------------------
class _Liar(BaseHTTPRequestHandler):
    skew: ClassVar[float] = 0.0
    hostile: ClassVar[str] = ""
    code: ClassVar[str] = "denied"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + self.skew, usegmt=True)

    def _answer(self) -> None:
        key = self.headers.get("Reactor-API-Key", "")
        message = f"{self.hostile} echo {key[3:]} and {key}"
        body = json.dumps({"error": {"code": self.code, "message": message}}).encode()
        self.send_response(403 if self.command == "POST" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def liar() -> Iterator[type[_Liar]]:
    handler = type("Liar", (_Liar,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("skew", "status"), [(3600.0, "fail"), (-120.0, "warn"), (0.0, "ok")])
def test_clock_skew_against_the_date_header(liar: Any, home: Path, skew: float, status: str) -> None:
    liar.skew = skew
    app_key = "rk_" + "A" * 30
    result, data = _doctor(_env(home, liar.url, REACTOR_API_KEY=app_key))
    clock = _of(data, "clock", status)[0]
    if status == "fail":
        assert "behind" in clock["detail"] and "NTP" in clock["fix"]
        assert result.code == 2  # the clock is the first failure (the key's is later)
    elif status == "warn":
        assert "ahead of" in clock["detail"]
    assert_no_secret([result.output], [app_key, app_key[3:]])


def test_hostile_server_text_is_inert_and_echoed_key_bodies_are_scrubbed(liar: Any, home: Path) -> None:
    liar.hostile = "x\n::warning::INJECTED\r\n##vso[task.setvariable variable=a]b \x1b[31m"
    app_key = "rk_" + "B" * 30
    for ci in ({}, {"GITHUB_ACTIONS": "true", "REACTOR_CI_PROVIDER": "github"}):
        result, data = _doctor(_env(home, liar.url, REACTOR_API_KEY=app_key, **ci))
        _of(data, "key", "fail")
        for line in result.output.splitlines():
            assert not line.lstrip().startswith("::warning::INJECTED"), line
        assert "##vso[" not in result.output and "\x1b" not in result.output
        # GitHub's `::add-mask::VALUE` is consumed by the runner, never shown:
        # the one place a value must appear (the key body is masked too).
        shown = [line for line in result.output.splitlines() if not line.startswith("::add-mask::")]
        assert_no_secret(shown, [app_key, app_key[3:]])


# -- in a CI job: job-scoped credentials and Docker config ------------------------------------
def test_github_job_scoped_config_not_exported_in_this_step(emu: Emulator, home: Path, tmp_path: Path) -> None:
    runner = tmp_path / "runner"
    runner.mkdir()
    files = {name: tmp_path / name.lower() for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    github = {"GITHUB_ACTIONS": "true", "REACTOR_CI_PROVIDER": "github", "RUNNER_TEMP": str(runner)}
    github.update({name: str(path) for name, path in files.items()})
    env = _env(home, emu.url, REACTOR_API_KEY=emu.partner_key, **github)
    del env["DOCKER_CONFIG"]  # the step's shell: docker-login exported it to LATER steps only
    _login(env, emu.partner_key)

    result, data = _doctor(env)
    # The job-scoped credentials are found without REACTOR_CREDENTIALS ...
    assert str(runner) in _of(data, "credentials", "ok")[0]["detail"]
    # ... and the config docker would read in this step is named, with the one that has the entry.
    bad = _of(data, "docker-config", "fail")[0]
    assert "export DOCKER_CONFIG=" in bad["fix"] and str(runner) in bad["fix"]

    exported = files["GITHUB_ENV"].read_text()
    assert "DOCKER_CONFIG<<" in exported
    later = {**env, "DOCKER_CONFIG": str(runner / "reactor-ci-docker-config")}
    result_later, data = _doctor(later)
    assert _of(data, "docker-config", "ok")
    visible = [
        line
        for text in (result.output, result_later.output)
        for line in text.splitlines()
        if not line.startswith("::add-mask::")
    ]
    secrets = _secrets(home, emu.partner_key, creds=runner / "reactor-ci" / "credentials")
    assert len(secrets) == 4, secrets  # the job-scoped file was found and its token is canaried
    assert_no_secret(visible, secrets)


def test_a_key_the_server_calls_the_wrong_kind(liar: Any, home: Path) -> None:
    liar.code = "wrong_key_type"
    app_key = "rk_" + "C" * 30
    result, data = _doctor(_env(home, liar.url, REACTOR_API_KEY=app_key))
    assert "is of the wrong kind" in _of(data, "key", "fail")[0]["detail"]
    assert result.code == 3
    assert_no_secret([result.output], [app_key, app_key[3:]])
