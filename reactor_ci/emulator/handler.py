"""The HTTP plumbing of the emulator: a threading server and one request handler.

Standard library only (``http.server``): the emulator starts in a subprocess
for every test that needs one, so start-up time matters more than features.
HTTP/1.1 keep-alive is on because the real clients (httpx, aiohttp) pool
connections, and a fault that must *drop* a connection needs one to drop.
What a request MEANS is decided in :meth:`Emulator.handle` (server.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from reactor_ci import redact
from reactor_ci.emulator import api, control
from reactor_ci.emulator.faults import Fault, default_body
from reactor_ci.emulator.state import ApiError

if TYPE_CHECKING:
    from reactor_ci.emulator.server import Emulator

MAX_BODY = 1 << 20
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle


def _entry(req: api.Request, status: int | None, fault: bool) -> dict[str, Any]:
    """One line of the request log: never a key in clear, bodies scrubbed."""
    key = req.header(api.API_KEY_HEADER)
    text = redact.scrub(req.body.decode(errors="replace"))[:2000]
    body: Any = None
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "key": redact.redact(key) if key else None,
        "body": body,
        "status": status,
        "fault": fault,
    }


def report_bug(what: str) -> None:
    """An emulator bug goes to stderr always (not only with -v), redacted."""
    with contextlib.suppress(Exception):
        import traceback  # only on a bug: it pulls textwrap in, ~4 ms of every start

        print(redact.scrub(f"emulator: {what}:\n{traceback.format_exc()}"), file=sys.stderr, flush=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # server_close() would otherwise join every handler thread, including
    # ones parked on an idle keep-alive connection; stop() closes those itself.
    block_on_close = False
    # socketserver's default backlog of 5 drops SYNs when a parallel test
    # opens a burst of connections; the client then waits a 1 s retransmit.
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], emulator: Emulator, family: int) -> None:
        self.address_family = family
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (its timeout fired during a
        # delay fault) is normal here; socketserver would print a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        report_bug("error while handling a request")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reactor-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, the second
        # waits for the client's delayed ACK (~40 ms per request).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch logs each request itself, once

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own lines (malformed requests) go through the same redaction.
        self.server.emulator.log(format % args)

    # -- plumbing --------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "invalid_request", "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ApiError(413, "invalid_request", "request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, resp: api.Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _drop(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees a reset,
        # like a load balancer killing the connection, not a polite EOF.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True

    def _dispatch(self) -> None:
        emu = self.server.emulator
        split = urlsplit(self.path)
        path = split.path or "/"
        is_control = path == control.PREFIX or path.startswith(control.PREFIX + "/")
        try:
            body = self._read_body()
        except (ApiError, ValueError) as exc:
            err = exc if isinstance(exc, ApiError) else ApiError(400, "invalid_request", "malformed body")
            self.close_connection = True
            self._send(api.Response.error(err))
            return
        req = api.Request(
            method=self.command,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        if not is_control:
            emu.state.count_request(req.method, path)
            fault = emu.faults.take(req.method, path)
            if fault is not None:
                emu.state.bump("faults_fired")
                if self._apply_fault(fault):
                    emu.log(f"{req.method} {path} -> fault {fault.action} {fault.status or ''}")
                    emu.state.record(_entry(req, None if fault.action == "drop" else fault.status, True))
                    return
        resp = emu.handle(req, is_control)
        emu.log(f"{req.method} {path} -> {resp.status}")
        if not is_control:
            emu.state.record(_entry(req, resp.status, False))
        self._send(resp)

    def _apply_fault(self, fault: Fault) -> bool:
        """Delay, then drop or answer; True when the fault answered the request."""
        emu = self.server.emulator
        if fault.delay and emu.stopping.wait(fault.delay):
            self._drop()  # shutting down mid-delay: hang up rather than answer late
            return True
        if fault.action == "drop":
            self._drop()
            return True
        if fault.status is None:
            return False  # delay-only fault: now answer normally
        headers = {k: v for k, v in fault.headers.items() if v is not None}
        body = fault.body if fault.body is not None else default_body(fault.status)
        self._send(api.Response(fault.status, body, fault.content_type, headers))
        return True
