"""Injected faults: the next N matching requests fail the way a test asks.

A client's retry, backoff and error-reporting paths are only tested if the
server misbehaves on cue, so a fault can answer any status and body (an HTML
500 page echoing the key back, say), add headers such as ``Retry-After``,
delay the answer, or drop the connection with a reset.  Faults are consumed
in FIFO order: the first queued fault that matches a request fires.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from reactor_ci.emulator.state import ApiError

ACTIONS = ("respond", "drop")

# The error body a fault answers when the test gives none: the same shape and
# codes as the real API, so the client's normal error path is exercised.
_DEFAULT_CODES = {
    400: ("invalid_request", "bad request"),
    401: ("invalid_api_key", "Invalid API key"),
    403: ("api_key_revoked", "API key revoked"),
    404: ("not_found", "not found"),
    429: ("rate_limited", "rate limited: retry after the Retry-After delay"),
}


@dataclass
class Fault:
    path: str | None
    method: str | None
    remaining: int
    status: int | None
    body: bytes | None
    content_type: str
    headers: dict[str, str | None]
    delay: float
    action: str

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        # Exact path or prefix: "/v1" hits every partner call.
        return self.path is None or path == self.path or path.startswith(self.path)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "method": self.method,
            "remaining": self.remaining,
            "status": self.status,
            "delay": self.delay,
            "action": self.action,
        }


def default_body(status: int) -> bytes:
    code, message = _DEFAULT_CODES.get(
        status, ("internal_error" if status >= 500 else "error", f"injected fault {status}")
    )
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def parse_fault(spec: dict[str, Any]) -> Fault:
    """Validate a control-API fault spec; raise :class:`ApiError` (400) on nonsense."""

    def bad(msg: str) -> ApiError:
        return ApiError(400, "invalid_request", msg)

    known = {"path", "method", "count", "status", "body", "content_type", "headers", "delay", "action"}
    unknown = set(spec) - known
    if unknown:
        raise bad(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    path = spec.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise bad("path must start with /")
    method = spec.get("method")
    if method is not None and not isinstance(method, str):
        raise bad("method must be a string")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise bad("count must be a positive integer")
    action = spec.get("action", "respond")
    if action not in ACTIONS:
        raise bad(f"action must be one of {', '.join(ACTIONS)}")
    status = spec.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599):
        raise bad("status must be an HTTP status code (200-599)")
    delay = spec.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
        raise bad("delay must be a number of seconds between 0 and 600")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (str, int))) for k, v in headers.items()
    ):
        raise bad("headers must map names to strings (null removes a default header)")
    raw_body = spec.get("body")
    content_type = spec.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise bad("content_type must be a string")
    body: bytes | None
    if raw_body is None:
        body = None
    elif isinstance(raw_body, str):
        body = raw_body.encode()
        content_type = content_type or "text/plain; charset=utf-8"
    else:
        body = json.dumps(raw_body).encode()
    if action == "respond" and status is None and body is not None:
        raise bad("a body needs a status")
    hdrs: dict[str, str | None] = {k: (None if v is None else str(v)) for k, v in headers.items()}
    # A 429 without Retry-After is not what the real API sends; add one unless
    # the test explicitly removed it with null.
    if status == 429 and not any(k.lower() == "retry-after" for k in hdrs):
        hdrs["Retry-After"] = "1"
    return Fault(
        path=path,
        method=method.upper() if method else None,
        remaining=count,
        status=status,
        body=body,
        content_type=content_type or "application/json",
        headers=hdrs,
        delay=float(delay),
        action=action,
    )


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> int:
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
            return n

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first matching fault (atomically: two racing
        requests never both get the last use)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]
