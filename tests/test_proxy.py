"""Proxies: HTTPS_PROXY/NO_PROXY are honoured for https; plain http never goes through one.

A real forward proxy on loopback. Plain http is allowed only to loopback (the
emulator), and a proxy on that path would read the key in clear (9.8), so the
client ignores every proxy variable for http. For https the proxy only sees a
CONNECT: the key travels inside the TLS tunnel.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from tests.clirun import base_env, run
from tests.leaks import assert_no_secret


class _Proxy(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def _forward(self) -> None:
        target = urlsplit(self.path)  # absolute-form request line: a forward proxy
        self.seen.append(f"{self.command} {target.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn.request(self.command, target.path or "/", body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for k, v in answer.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = _forward
    do_POST = _forward

    def do_CONNECT(self) -> None:
        # Record the tunnel request and refuse it: what matters is that the
        # client asked for a tunnel (the key stays inside TLS), not the far end.
        self.seen.append(f"CONNECT {self.path}")
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    seen: ClassVar[list[str]] = []
    handler = type("Proxy", (_Proxy,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_plain_http_never_goes_through_a_proxy(emulator: Any, proxy: tuple[str, list[str]], tmp_path: Path) -> None:
    url, seen = proxy
    env = base_env(
        tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key, HTTP_PROXY=url, HTTPS_PROXY=url, ALL_PROXY=url
    )
    env.update(http_proxy=url, all_proxy=url)
    result = run(["login"], env)
    assert result.code == 0, result.stderr
    assert seen == []  # the key went straight to the loopback emulator, not in clear to the proxy
    assert_no_secret([result.output], [emulator.partner_key])


def test_https_uses_the_proxy_as_a_tunnel_and_no_proxy_bypasses_it(
    proxy: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = proxy
    key = "rp_proxycanary_0123456789abcdef"
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"https://localhost:{port}"
    env = base_env(
        tmp_path, api, REACTOR_API_KEY=key, HTTPS_PROXY=url, REACTOR_CI_RETRY_ATTEMPTS="1", REACTOR_CI_HTTP_TIMEOUT="5"
    )
    via = run(["login"], env)
    assert via.code == 4, via.stderr
    assert seen == [f"CONNECT localhost:{port}"]  # a tunnel: the proxy never sees the request or the key
    seen.clear()
    direct = run(["login"], {**env, "NO_PROXY": "localhost"})
    assert direct.code == 4, direct.stderr
    assert seen == []
    assert_no_secret([via.output, direct.output], [key, key[3:]])
