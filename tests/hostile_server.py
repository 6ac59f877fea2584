"""A misbehaving Reactor API on 127.0.0.1: drip, huge bodies, garbage, foreign registries.

The emulator behaves like Reactor; this server behaves like what reactor-ci
must survive: a captive portal, a hijacked DNS name, a broken proxy, a
malicious or buggy API. It speaks raw HTTP/1.1 over a real socket so it can
misbehave below HTTP (one byte per second, a status line that never ends, a
100 MB body, bytes that are not HTTP at all).

    with HostileServer() as server:
        server.route("/v1/partner", Drip())
        server.route("/v1/registry/token", Json(200, {...}))
        env = {"REACTOR_API_URL": server.url, ...}

Each request is recorded (method, path, whether the key header came with it).
The server runs in daemon threads of the test process and binds 127.0.0.1
only; ``close()`` stops it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

PARTNER_ID = "acme"
REGISTRY = "registry.reactor.inc/acme"
TOKEN = "regtok-hostile-canary-0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJob3N0aWxlIjoiY2FuYXJ5In0.c2lnbmF0dXJlLWNhbmFyeQ"


def future(seconds: float = 12 * 3600) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Behaviour:
    """What the server does with one request; subclasses write to the raw socket."""

    def respond(self, conn: socket.socket, request: Request) -> None:
        raise NotImplementedError


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def has_key(self) -> bool:
        return "reactor-api-key" in self.headers


class Raw(Behaviour):
    """Send ``data`` as is (garbage, a truncated answer, anything)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def respond(self, conn: socket.socket, request: Request) -> None:
        conn.sendall(self.data)


class Json(Behaviour):
    """A well-formed HTTP answer with ``body`` (any JSON value, or raw text)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = headers or {}

    def respond(self, conn: socket.socket, request: Request) -> None:
        head = [f"HTTP/1.1 {self.status} X", "Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + self.body)


class Drip(Behaviour):
    """One byte every ``interval`` seconds, forever: headers first, then a body that never ends.

    ``headers=False`` drips the status line itself, so not even the headers complete.
    """

    def __init__(self, interval: float = 0.5, *, headers: bool = True) -> None:
        self.interval = interval
        self.headers = headers

    def respond(self, conn: socket.socket, request: Request) -> None:
        if self.headers:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        stream = b"{" if self.headers else b"HTTP/1.1 200 OK\r\nX-Slow: "
        for byte in stream:
            conn.sendall(bytes([byte]))
            time.sleep(self.interval)
        while True:
            conn.sendall(b" " if self.headers else b"a")
            time.sleep(self.interval)


class Huge(Behaviour):
    """A ``size``-byte body sent as fast as the client reads; ``length=False`` omits Content-Length."""

    def __init__(self, size: int = 100 * 1024 * 1024, *, length: bool = True) -> None:
        self.size = size
        self.length = length

    def respond(self, conn: socket.socket, request: Request) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {self.size}\r\n" if self.length else "Connection: close\r\n"
        conn.sendall((head + "\r\n").encode() + b'{"partner_id": "')
        chunk = b"a" * 65536
        sent = 0
        while sent < self.size:
            conn.sendall(chunk)
            sent += len(chunk)


def partner_answer(registry: str = REGISTRY, partner_id: str = PARTNER_ID) -> Json:
    return Json(200, {"partner_id": partner_id, "registry": registry})


def token_answer(registry: str = REGISTRY, *, expiry: Any = None, token: str = TOKEN) -> Json:
    return Json(
        200,
        {
            "registry_token": token,
            "registry": registry,
            "registry_token_expiry": future() if expiry is None else expiry,
            "username": PARTNER_ID,
        },
    )


def jwt_answer(expires_at: Any = None) -> Json:
    return Json(200, {"jwt": JWT, "expires_at": int(time.time()) + 900 if expires_at is None else expires_at})


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for ``localhost``/127.0.0.1: (cert, key) PEM files in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "hostile-cert.pem", directory / "hostile-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class HostileServer:
    """The server. Routes default to a well-behaved Reactor (partner, token, JWT).

    ``tls=(cert, key)`` serves https (see :func:`self_signed`), so the deadline
    watchdog is proven on TLS sockets too, as the real API uses.
    """

    routes: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    tls: tuple[Path, Path] | None = None

    def __post_init__(self) -> None:
        self.routes.setdefault("/v1/partner", partner_answer())
        self.routes.setdefault("/v1/registry/token", token_answer())
        self.routes.setdefault("/tokens", jwt_answer())
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self._sock.getsockname()[1]}"
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def route(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _wrap(self, conn: socket.socket) -> socket.socket:
        if self.tls is None:
            return conn
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.tls)
        return context.wrap_socket(conn, server_side=True)

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(30)
            conn = self._wrap(conn)
            request = _read_request(conn)
            if request is None:
                return
            self.requests.append(request)
            behaviour = self.routes.get(request.path, Json(404, {"error": {"code": "not_found", "message": "no"}}))
            behaviour.respond(conn, request)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path.split("?", 1)[0], headers, body)
