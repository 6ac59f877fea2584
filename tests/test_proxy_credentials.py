"""Issue 19.2: a proxy setting is parsed once, never printed with its credentials.

Real processes against a real forward proxy on 127.0.0.1 that demands
``Proxy-Authorization``: a password holding ``/``, ``#`` and ``?`` (unencoded,
as people write them) must reach the proxy intact and appear in no output,
no helper.log; a malformed setting is exit 2 naming the variable; SOCKS is
exit 2 saying it is not supported (reactor-ci does not ship a SOCKS client).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reactor_ci.errors import UsageError
from tests.adversarial.test_store import _good, _helper, _write
from tests.clirun import base_env, run
from tests.leaks import assert_no_secret

USER = "ci-bot"
PASSWORD = "s3cr/et#pa?ss@word"  # unencoded /, #, ? and @: common in real proxy settings
KEY = "rp_proxycanary_0123456789abcdef"


class _AuthProxy(BaseHTTPRequestHandler):
    """A CONNECT proxy that records the credentials it was given, then refuses the tunnel."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_CONNECT(self) -> None:
        self.seen.append((self.path, self.headers.get("Proxy-Authorization", "")))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def auth_proxy() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("P", (_AuthProxy,), {"seen": seen}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def _api_port() -> int:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(home: Path, proxy_url: str, **extra: str) -> dict[str, str]:
    return base_env(
        home,
        f"https://localhost:{_api_port()}",
        REACTOR_API_KEY=KEY,
        HTTPS_PROXY=proxy_url,
        REACTOR_CI_RETRY_ATTEMPTS="1",
        REACTOR_CI_HTTP_TIMEOUT="5",
        REACTOR_CREDENTIALS=str(home / ".reactor" / "credentials"),
        REACTOR_CI_HELPER_LOG=str(home / "helper.log"),
        **extra,
    )


SECRETS = {"proxy password": PASSWORD, "key": KEY, "password part": "et#pa?ss"}


def test_login_sends_an_unencoded_password_to_the_proxy_and_prints_none_of_it(
    auth_proxy: tuple[int, list[tuple[str, str]]], tmp_path: Path
) -> None:
    port, seen = auth_proxy
    result = run(["login"], _env(tmp_path, f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"))
    assert result.code == 4, result.output  # the proxy refused the tunnel: a network error, not a crash
    assert "Traceback" not in result.output and "InvalidURL" not in result.output
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert seen and seen[0][1] == expected, seen
    assert_no_secret([result.output], SECRETS)


def test_doctor_names_the_proxy_without_its_credentials(
    auth_proxy: tuple[int, list[tuple[str, str]]], tmp_path: Path
) -> None:
    port, _ = auth_proxy
    result = run(["doctor", "--json"], _env(tmp_path, f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"))
    assert "Traceback" not in result.output and "InvalidURL" not in result.output, result.output
    assert f"http://127.0.0.1:{port}" in result.output
    assert_no_secret([result.output], SECRETS)


def test_the_helper_answers_and_logs_no_proxy_password(
    auth_proxy: tuple[int, list[tuple[str, str]]], tmp_path: Path
) -> None:
    port, seen = auth_proxy
    env = _env(tmp_path, f"http://{USER}:{PASSWORD}@127.0.0.1:{port}")
    creds = tmp_path / ".reactor" / "credentials"
    _write(creds, _good(registry_token_expiry="2000-01-01T00:00:00Z"))  # expired: the helper must refresh
    result = _helper(env)
    assert result.code == 1 and "Traceback" not in result.output, result.output
    log = (tmp_path / "helper.log").read_text()
    assert "InvalidURL" not in log
    assert seen, "the helper never reached the proxy"
    assert_no_secret([result.output, log], SECRETS)


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:notaport",
        "http://[::1",
        "http://:3128",
        "ftp://127.0.0.1:21",
        f"http://{USER}:{PASSWORD}@127.0.0.1:99999",
        f"http://{USER}:{PASSWORD}@exa mple.com:3128",
    ],
)
def test_a_malformed_proxy_is_bad_input_naming_the_variable(tmp_path: Path, value: str) -> None:
    result = run(["login"], _env(tmp_path, value))
    assert result.code == 2, result.output
    assert "HTTPS_PROXY" in result.output and "Traceback" not in result.output
    assert_no_secret([result.output], SECRETS)
    # The doctor's proxy check says the same, as bad input (exit class 2), and its API check does not crash.
    doctor = run(["doctor", "--json"], _env(tmp_path, value))
    assert "Traceback" not in doctor.output and "internal error" not in doctor.output, doctor.output
    checks = {entry["check"]: entry for entry in json.loads(doctor.stdout)}
    assert checks["proxy"]["status"] == "fail" and "HTTPS_PROXY" in checks["proxy"]["detail"], checks["proxy"]
    assert_no_secret([doctor.output], SECRETS)


@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4"])
def test_socks_is_bad_input_saying_it_is_not_supported(tmp_path: Path, scheme: str) -> None:
    result = run(["login"], _env(tmp_path, f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:1080"))
    assert result.code == 2, result.output
    assert "not supported" in result.output and "HTTPS_PROXY" in result.output
    assert "ImportError" not in result.output and "Traceback" not in result.output
    assert_no_secret([result.output], SECRETS)


def test_no_proxy_still_bypasses_a_broken_proxy(tmp_path: Path) -> None:
    env = _env(tmp_path, "socks5://127.0.0.1:1080", NO_PROXY="localhost")
    result = run(["login"], env)
    assert result.code == 4, result.output  # straight to the (closed) API port


def test_the_parser_keeps_the_password_whole() -> None:
    from reactor_ci import proxy as proxy_mod

    setting = proxy_mod.parse("HTTPS_PROXY", f"{USER}:{PASSWORD}@proxy.example.com:3128/")
    assert (setting.scheme, setting.host, setting.port) == ("http", "proxy.example.com", 3128)
    assert (setting.username, setting.password) == (USER, PASSWORD)
    assert PASSWORD not in setting.display and USER not in setting.display
    with pytest.raises(UsageError) as info:
        proxy_mod.parse("HTTPS_PROXY", f"http://{USER}:{PASSWORD}@proxy.example.com:x")
    assert PASSWORD not in str(info.value.message) + str(info.value.fix)
