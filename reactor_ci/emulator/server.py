"""The emulator's HTTP server and its Python API (:class:`Emulator`).

Standard library only (``http.server``): the emulator starts in a subprocess
for every test that needs one, so start-up time matters more than features.
HTTP/1.1 keep-alive is on because the real clients (httpx, aiohttp) pool
connections, and a fault that must *drop* a connection needs one to drop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from reactor_ci import redact
from reactor_ci.emulator import api, control, realm
from reactor_ci.emulator.faults import Fault, FaultQueue, default_body
from reactor_ci.emulator.registry import Registry
from reactor_ci.emulator.state import (
    DEFAULT_APP_TOKEN_MAX,
    DEFAULT_PARTNER_ID,
    DEFAULT_REGISTRY_HOST,
    DEFAULT_REGISTRY_TOKEN_TTL,
    ApiError,
    State,
)
from reactor_ci.fsutil import atomic_write_text, is_loopback_host

MAX_BODY = 1 << 20
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle

WIRE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/partner"): "partner",
    ("POST", "/v1/registry/token"): "registry_token",
    ("POST", "/tokens"): "tokens",
    ("GET", realm.REALM_PATH): "realm",
}
_WIRE_PATHS = {path for _, path in WIRE_ROUTES}


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


def _report_bug(what: str) -> None:
    """An emulator bug goes to stderr always (not only with -v), redacted."""
    with contextlib.suppress(Exception):
        print(redact.scrub(f"emulator: {what}:\n{traceback.format_exc()}"), file=sys.stderr, flush=True)


class _Server(ThreadingHTTPServer):
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
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (its timeout fired during a
        # delay fault) is normal here; socketserver would print a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        _report_bug("error while handling a request")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reactor-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _Server

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


class Emulator:
    """The Reactor API + registry realm (+ optionally a real registry) on loopback.

    ``Emulator().start()`` binds a free port and serves from a daemon thread;
    use it as a context manager in in-process tests.  ``state`` is the live
    :class:`State` for direct inspection.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        partner_id: str = DEFAULT_PARTNER_ID,
        registry_token_ttl: int = DEFAULT_REGISTRY_TOKEN_TTL,
        app_token_max: int = DEFAULT_APP_TOKEN_MAX,
        with_registry: bool = False,
        allow_non_loopback: bool = False,
        work_dir: str | os.PathLike[str] | None = None,
        registry_binary: str | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        if not is_loopback_host(host) and not allow_non_loopback:
            raise ValueError(
                f"refusing to bind {host!r}: the emulator binds loopback only "
                "(pass allow_non_loopback / --allow-non-loopback to override)"
            )
        # Refuse at start rather than serve a registry whose every login fails
        # (issue 8.3: no server ever starts half-working).
        if with_registry and not realm.crypto_available():
            raise realm.MissingExtraError(f"--with-registry: {realm.MISSING_EXTRA}")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.with_registry = with_registry
        self.registry_binary = registry_binary
        self._log_stream = log_stream
        # State first: it validates the arguments before anything touches disk.
        self.state = State(
            partner_id=partner_id,
            registry_token_ttl=registry_token_ttl,
            app_token_max=app_token_max,
            registry_host=DEFAULT_REGISTRY_HOST,
        )
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="reactor-emulator-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)  # holds the realm certificate and registry data
        self.faults = FaultQueue()
        self.signer = realm.Signer(self.work_dir)
        self.services = api.Services(self.state, self.faults, api.AppTokenMinter(), self.signer)
        self.registry_proc: Registry | None = None
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        org = self.state.orgs[partner_id]
        keys = list(self.state.keys.values())
        self.partner_id = org.partner_id
        self.partner_key = next(k.secret for k in keys if k.kind == "partner")
        self.app_key = next(k.secret for k in keys if k.kind == "app")

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = _Server((self.host, self.port), self, family)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="reactor-emulator", daemon=True
        )
        self._thread.start()
        if self.with_registry:
            try:
                self.signer.ensure()  # the registry needs the certificate bundle at start
                self.registry_proc = Registry(
                    self.work_dir,
                    self.realm_url,
                    realm.SERVICE,
                    realm.ISSUER,
                    self.signer.cert_path,
                    binary=self.registry_binary,
                )
                self.registry_proc.start()
                self.state.set_registry_host(self.registry_proc.host)
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop serving, hang up open connections, stop the registry; idempotent."""
        self.stopping.set()
        if self.registry_proc is not None:
            self.registry_proc.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            with server.conn_lock:
                conns = list(server.connections)
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def control_url(self) -> str:
        return self.url + control.PREFIX

    @property
    def realm_url(self) -> str:
        return self.url + realm.REALM_PATH

    @property
    def registry(self) -> str:
        """The default org's registry, ``host/partner_id``."""
        return self.state.org(self.partner_id).registry

    @property
    def registry_host(self) -> str:
        return self.state.registry_host

    def info(self) -> dict[str, Any]:
        """The state file's content (includes the keys: write it 0600)."""
        data: dict[str, Any] = {
            "url": self.url,
            "control_url": self.control_url,
            "realm": self.realm_url,
            "service": realm.SERVICE,
            "issuer": realm.ISSUER,
            "partner_id": self.partner_id,
            "registry": self.registry,
            "registry_host": self.registry_host,
            "partner_key": self.partner_key,
            "app_key": self.app_key,
            "pid": os.getpid(),
            "work_dir": str(self.work_dir),
        }
        proc = self.registry_proc
        if proc is not None:
            data.update(
                registry_url=proc.url,
                registry_pid=proc.pid,
                registry_log=str(proc.log_path),
                realm_cert=str(self.signer.cert_path),
            )
        return data

    def write_state_file(self, path: str | os.PathLike[str]) -> None:
        """Atomically (temp + rename), mode 0600: a reader never sees half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(self.info(), indent=2) + "\n", mode=0o600)

    # -- requests ----------------------------------------------------------------

    def log(self, line: str) -> None:
        if self._log_stream is not None:
            with contextlib.suppress(Exception):
                self._log_stream.write(redact.scrub(f"emulator: {line}") + "\n")
                self._log_stream.flush()

    def handle(self, req: api.Request, is_control: bool) -> api.Response:
        try:
            if is_control:
                return control.handle(req, self.services)
            route = WIRE_ROUTES.get((req.method, req.path))
            if route is None:
                if req.path in _WIRE_PATHS:
                    allowed = ", ".join(m for m, p in WIRE_ROUTES if p == req.path)
                    raise ApiError(405, "method_not_allowed", f"{req.path} accepts {allowed}", {"Allow": allowed})
                raise ApiError(404, "not_found", f"no such endpoint: {req.method} {req.path}")
            if route == "partner":
                return api.get_partner(req, self.state)
            if route == "registry_token":
                return api.post_registry_token(req, self.state)
            if route == "tokens":
                return api.post_tokens(req, self.state, self.services.minter)
            return self._realm(req)
        except ApiError as err:
            return api.Response.error(err)
        except Exception:
            # An emulator bug must still answer (a hung test is worse than a red one).
            _report_bug("internal error")
            return api.Response.error(ApiError(500, "internal_error", "emulator internal error"))

    def _realm(self, req: api.Request) -> api.Response:
        if not realm.crypto_available():
            # A plain install serves the whole Reactor API; the realm alone
            # needs the extra, and says so instead of answering 500.
            return api.Response.json(501, {"details": realm.MISSING_EXTRA})
        try:
            answer = realm.issue_bearer(self.state, self.signer, req.header("Authorization"), req.query)
        except realm.RealmError as err:
            self.state.count_realm_denial(err.reason)
            return api.Response.json(
                401, {"details": err.details}, {"WWW-Authenticate": f'Basic realm="{realm.ISSUER}"'}
            )
        self.state.bump("realm_granted")
        return api.Response.json(200, answer)
