"""One HTTP exchange that cannot hang or flood: a total deadline and a body cap.

httpx's timeouts are per operation: a server sending one byte a second resets
the read timeout forever (headers included), and ``response.read()`` takes a
100 MB answer whole. :func:`exchange` bounds both: a watchdog shuts the
socket down when the exchange's TOTAL deadline (connect + headers + body)
passes, so the blocked read returns at once whatever it was reading, and the
body is streamed and refused past :data:`MAX_BODY`. It knows nothing of
Reactor: :mod:`reactor_ci.api` maps its three exceptions to user errors.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# A real answer is a few hundred bytes; an error page a few kB. Anything past
# this is not the Reactor API, and reading it whole would be a memory DoS.
MAX_BODY = 256 * 1024
_CONNECT_CAP = 10.0


class DeadlinePassed(Exception):
    """The exchange did not finish within its total deadline."""


class TooLarge(Exception):
    """The body is over :data:`MAX_BODY`."""


class Unreachable(Exception):
    """A transport failure before the deadline (refused, reset, not HTTP); the message is the class name."""


def exchange(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    json: dict[str, Any] | None,
    headers: dict[str, str],
    content: bytes | None = None,
    seconds: float,
    max_body: int = MAX_BODY,
) -> tuple[int, httpx.Headers, bytes]:
    """(status, headers, body) of one request, all of it within ``seconds``.

    ``content`` is a raw body for what ``json`` cannot say (a JSON ``null``).
    """
    import httpx

    timeout = httpx.Timeout(seconds, connect=min(seconds, _CONNECT_CAP))
    ends = time.monotonic() + seconds
    with Watchdog(seconds) as watchdog:
        try:
            with client.stream(
                method,
                path,
                json=json,
                content=content,
                headers=headers,
                timeout=timeout,
                extensions={"trace": watchdog.trace},
            ) as response:
                body = _read_body(response, ends, max_body)
                return response.status_code, response.headers, body
        except httpx.TimeoutException:
            raise DeadlinePassed from None
        except httpx.HTTPError as exc:
            if watchdog.fired:
                raise DeadlinePassed from None
            raise Unreachable(exc.__class__.__name__) from None


def _read_body(response: httpx.Response, ends: float, max_body: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise TooLarge(f"the answer is {declared} bytes, over the {max_body // 1024} kB limit")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > max_body:
            raise TooLarge(f"the answer is over the {max_body // 1024} kB limit")
        if time.monotonic() > ends:
            raise DeadlinePassed
        chunks.append(chunk)
    return b"".join(chunks)


class Watchdog:
    """Shut the connection's socket down when the attempt's total deadline passes.

    httpx's timeouts are per operation: a server sending one byte a second
    resets the read timeout forever (headers included). Shutting the socket
    down from a timer makes the blocked read return at once, whatever it was
    reading. The socket is learnt from httpcore's ``trace`` extension.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if not name.endswith(".connect_tcp.complete"):  # direct, through a proxy, or SOCKS
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sock = sock
                if self.fired:
                    _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    # The base class's shutdown, even for an SSLSocket: its override tears down
    # the TLS object under a reader in another thread; the raw shutdown just
    # makes that reader see EOF.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def retry_after(headers: httpx.Headers) -> float | None:
    value = str(headers.get("retry-after") or "")[:64]
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # nan/inf/negative from a hostile server must not become a sleep.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return max(0.0, when - time.time())
