"""Issue 19.4: the control API answers only requests addressed to loopback (DNS rebinding).

A web page the developer visits can point its own name at 127.0.0.1 and call
the emulator's unauthenticated control API from the browser: the request then
carries the attacker's name in ``Host:``. The real emulator process must refuse
every Host that is not a loopback address (or the configured host), parsed by
the one loopback parser, so ``[::1].evil.com`` is refused too.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.emulator_fixtures import EmulatorProcess

REFUSED = [
    "evil.example",
    "rebind.attacker.com:{port}",
    "[::1].evil.com",
    "127.0.0.1.evil.com:{port}",
    "127.0.0.1:{port}.evil.com",
    "localhost.evil.com",
    "",
    "0.0.0.0:{port}",
]
ACCEPTED = ["127.0.0.1:{port}", "localhost:{port}", "127.0.0.1", "LOCALHOST:{port}"]


def _get(emulator: EmulatorProcess, path: str, host: str | None) -> tuple[int, bytes]:
    parts = urlsplit(emulator.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("host", REFUSED)
def test_a_foreign_host_gets_no_control_api(emulator: EmulatorProcess, host: str) -> None:
    port = urlsplit(emulator.url).port
    status, body = _get(emulator, "/_emulator/stats", host.format(port=port))
    assert status == 403, body
    assert emulator.partner_key.encode() not in body and emulator.app_key.encode() not in body


def test_no_host_header_gets_no_control_api(emulator: EmulatorProcess) -> None:
    status, _ = _get(emulator, "/_emulator/stats", None)
    assert status == 403


@pytest.mark.parametrize("host", ACCEPTED)
def test_loopback_hosts_still_reach_it(emulator: EmulatorProcess, host: str) -> None:
    port = urlsplit(emulator.url).port
    status, body = _get(emulator, "/_emulator/stats", host.format(port=port))
    assert status == 200, body


def test_a_non_loopback_bind_warns_in_the_ready_line() -> None:
    from reactor_ci.emulator.cli import ready_line

    line = ready_line("http://192.0.2.10:8080", "0.0.0.0")
    assert line.startswith("emulator ready: http://192.0.2.10:8080") and "WARNING" in line
    assert "control API" in line and "unauthenticated" in line
    assert "WARNING" not in ready_line("http://127.0.0.1:8080", "127.0.0.1")
