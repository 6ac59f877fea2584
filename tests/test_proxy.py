"""HTTP(S)_PROXY and NO_PROXY are honoured: a real forward proxy on loopback."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from tests.clirun import assert_no_secret, base_env, run


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


def test_proxy_is_used_and_no_proxy_bypasses_it(emulator: Any, proxy: tuple[str, list[str]], tmp_path: Path) -> None:
    url, seen = proxy
    env = base_env(tmp_path, emulator.url, REACTOR_API_KEY=emulator.partner_key, HTTP_PROXY=url, HTTPS_PROXY=url)
    via = run(["login"], env)
    assert via.code == 0, via.stderr
    assert "GET /v1/partner" in seen and "POST /v1/registry/token" in seen
    seen.clear()
    direct = run(["login"], {**env, "NO_PROXY": "127.0.0.1"})
    assert direct.code == 0, direct.stderr
    assert seen == []
    assert_no_secret([via.output, direct.output], [emulator.partner_key])
