"""The emulator as a process: state file, signals, loopback binding, the real reactor-sdk client."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from reactor_ci.emulator import cli
from reactor_ci.emulator.server import Emulator
from tests.emulator_fixtures import EmulatorProcess, start_emulator
from tests.repo import REPO_ROOT

H = "Reactor-API-Key"


def _listening(port: int) -> list[str]:
    """Local addresses (hex, /proc/net format) that LISTEN on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":
                found.append(addr)
    return found


def test_state_file(emulator: EmulatorProcess) -> None:
    st = emulator.state_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    state = json.loads(emulator.state_file.read_text())
    for field in (
        "url",
        "partner_id",
        "registry",
        "registry_host",
        "partner_key",
        "app_key",
        "pid",
        "control_url",
        "realm",
    ):
        assert field in state, field
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", state["url"])
    assert state["pid"] == emulator.pid
    assert state["control_url"] == state["url"] + "/_emulator"
    assert state["partner_id"] == "sandbox"
    assert state["registry"] == "registry.reactor.inc/sandbox"
    assert state["registry_host"] == "registry.reactor.inc"
    assert re.fullmatch(r"rp_[A-Za-z0-9]{32}", state["partner_key"])
    assert re.fullmatch(r"rk_[A-Za-z0-9]{32}", state["app_key"])
    # no temp file left beside it
    assert [p.name for p in emulator.state_file.parent.iterdir() if p.name.startswith(".emulator-state")] == []


def test_binds_loopback_only(emulator: EmulatorProcess) -> None:
    port = int(emulator.url.rsplit(":", 1)[1])
    assert _listening(port) == ["0100007F"]  # 127.0.0.1, nothing on 0.0.0.0 or ::


def test_ready_line_and_no_keys_on_stderr(emulator: EmulatorProcess) -> None:
    with httpx.Client(trust_env=False) as c:
        c.get(emulator.url + "/v1/partner", headers={H: emulator.partner_key})
        c.post(emulator.url + "/v1/registry/token", headers={H: emulator.partner_key})
        c.post(emulator.url + "/tokens", headers={H: emulator.app_key})
    log = emulator.log()
    assert f"emulator ready: {emulator.url}" in log
    assert "GET /v1/partner -> 200" in log  # -v logs requests...
    assert emulator.partner_key not in log and emulator.app_key not in log  # ...never keys


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    emu = start_emulator(tmp_path)
    url = emu.url
    os.kill(emu.pid, sig)
    assert emu.proc.wait(10) == 0
    assert not emu.state_file.exists()  # it held keys
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_emulator/health", timeout=2)
    emu.stop()


def test_signal_during_keep_alive_and_delay(tmp_path: Path) -> None:
    """Open connections and a fault sleeping mid-request do not block shutdown."""
    emu = start_emulator(tmp_path)
    emu.inject_fault(delay=30)
    c = httpx.Client(trust_env=False, timeout=60)
    c.get(emu.url + "/_emulator/health")  # an idle keep-alive connection
    import threading

    errors: list[BaseException] = []

    def slow() -> None:
        try:
            httpx.get(emu.url + "/v1/partner", timeout=60)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(emu.pid, signal.SIGTERM)
    assert emu.proc.wait(10) == 0
    assert time.monotonic() - t0 < 5
    t.join(10)
    assert errors  # the delayed request was hung up on, not answered 30 s later
    c.close()


def test_refuses_non_loopback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.emulator", "--host", "0.0.0.0", "--state-file", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr
    assert not (tmp_path / "s.json").exists()
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="10.0.0.1")


def test_options_reach_the_server(tmp_path: Path) -> None:
    emu = start_emulator(tmp_path, "--partner-id", "acme", "--registry-token-ttl", "90", "--app-token-max", "120")
    try:
        assert emu.partner_id == "acme" and emu.registry == "registry.reactor.inc/acme"
        config = emu.control("GET", "config")
        assert config["registry_token_ttl"] == 90 and config["app_token_max"] == 120
        with httpx.Client(trust_env=False) as c:
            body = c.post(emu.url + "/tokens", headers={H: emu.app_key}, json={"expires_after": 999}).json()
        assert body["expires_at"] - int(time.time()) <= 121
    finally:
        emu.stop()


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    assert cli.main(["--registry-token-ttl", "0", "--state-file", str(tmp_path / "s")]) == 2
    assert cli.main(["--partner-id", "Not Valid"]) == 2


def test_add_commands_hook() -> None:
    parser = argparse.ArgumentParser(prog="reactor-ci")
    sub = parser.add_subparsers(dest="command")
    cli.add_commands(sub)
    args = parser.parse_args(["emulator", "--port", "0", "--with-registry"])
    assert args.func is cli.run and args.with_registry and args.host == "127.0.0.1"
    assert args.registry_token_ttl == 43200 and args.app_token_max == 21600 and args.partner_id == "sandbox"


def test_cli_import_is_light() -> None:
    code = (
        "import sys, reactor_ci.emulator.cli, reactor_ci.emulator.server;"
        "print(sorted(m for m in ('jwt', 'cryptography', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout
    assert out.strip() == "[]"


def test_python_api_context_manager() -> None:
    with Emulator(partner_id="team") as emu:
        assert emu.partner_id == "team"
        r = httpx.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
        assert r.json()["partner_id"] == "team"
        work_dir = emu.work_dir
        url = emu.url
    assert not work_dir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_emulator/health", timeout=2)


# -- the real public client ------------------------------------------------------


def test_reactor_sdk_fetch_jwt(emulator: EmulatorProcess, sdk_auth: ModuleType) -> None:
    """reactor-sdk 1.13's fetch_jwt (tests/sdk_wheel.py): unscoped (a JSON null body) and scoped."""
    token = sdk_auth.fetch_jwt(emulator.app_key, emulator.url)
    assert isinstance(token, str) and token.count(".") == 2
    assert emulator.verify_jwt(token)["valid"] is True
    # Trailing slash on the base URL: the SDK strips it.
    scoped = sdk_auth.fetch_jwt(emulator.app_key, emulator.url + "/", models=["acme/world"], max_sessions=2)
    claims = emulator.verify_jwt(scoped)["claims"]
    assert claims["authorization_details"][0]["resources"] == {"models": {"match": ["acme/world"]}}
    stats = emulator.stats()
    assert stats["app_tokens_issued"] == 2
    assert stats["tokens_bodies"]["null"] == 1 and stats["tokens_bodies"]["object"] == 1


def test_reactor_sdk_sees_errors(emulator: EmulatorProcess, sdk_auth: ModuleType) -> None:
    with pytest.raises(sdk_auth.AuthError, match="403"):
        sdk_auth.fetch_jwt(emulator.partner_key, emulator.url)
    with pytest.raises(sdk_auth.AuthError, match=r"400.*max_session_duration_seconds"):
        sdk_auth.fetch_jwt(emulator.app_key, emulator.url, models=["acme/world"], max_session_duration_seconds=86401)
    emulator.inject_fault(path="/tokens", status=503)
    with pytest.raises(sdk_auth.AuthError, match="503"):
        sdk_auth.fetch_jwt(emulator.app_key, emulator.url)


def test_ipv6_loopback() -> None:
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        emu = Emulator(host="::1").start()
    except OSError as exc:  # IPv6 compiled in but disabled
        pytest.skip(f"cannot bind ::1: {exc}")
    with emu:
        assert emu.url.startswith("http://[::1]:")
        assert httpx.get(emu.url + "/v1/partner", headers={H: emu.partner_key}).status_code == 200


def test_work_dir_is_kept_when_given(tmp_path: Path) -> None:
    work = tmp_path / "work"
    with Emulator(work_dir=work) as emu:
        httpx.get(emu.control_url + "/realm-cert").raise_for_status()
    assert (work / "realm-cert.pem").exists()
    assert stat.S_IMODE(work.stat().st_mode) == 0o700


def test_standalone_parser_never_echoes_an_argument() -> None:
    canary = "rp_" + "Zq7" * 11
    for argv in (["--bogus", canary], [canary], ["--port", canary]):
        proc = subprocess.run(
            [sys.executable, "-m", "reactor_ci.emulator", *argv],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2, proc.stderr
        assert canary not in proc.stdout + proc.stderr
        assert canary[3:] not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
