"""`reactor-ci token` is wire-identical to reactor-sdk 1.13.0's own ``fetch_jwt``.

Both clients mint against ONE recording HTTP server on 127.0.0.1 with the same
options; the test compares what reached the wire: method, path, the headers
that matter (the key, the content type, no chunking) and the parsed body --
``null`` for an unscoped mint, the RFC 9396 ``authorization_details`` for a
scoped one. Hypothesis walks the option space; a parametrized test walks
every combination of present/absent options, including the ones the CLI
refuses (``--max-*`` without a scope) before any request.

The SDK's ``_auth.py`` comes from the pinned wheel (tests/sdk_wheel.py).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci import cli
from tests.clirun import base_env
from tests.leaks import assert_no_secret

KEY = "rk_" + "Canary7" * 5
_CLAIMS = base64.urlsafe_b64encode(b'{"sub":"recorder"}').rstrip(b"=").decode()
JWT = f"eyJhbGciOiJIUzI1NiJ9.{_CLAIMS}.c2lnbmF0dXJlLWNhbmFyeQ"
# The headers whose values must be the same on both clients' requests.
COMPARED = ("reactor-api-key", "content-type")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def parsed(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)

    def take(self) -> list[Seen]:
        out, self.seen = self.seen, []
        return out


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rec.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = rec.answer or {"jwt": JWT, "expires_at": int(time.time()) + 3600}
            data = json.dumps(answer).encode()
            self.send_response(rec.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Options:
    models: list[str] | None = None
    sessions: list[str] | None = None
    max_sessions: int | None = None
    max_session_duration_seconds: int | None = None
    expires_after: int | None = None

    def sdk_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def argv(self) -> list[str]:
        args = ["token", "--json"]
        args += [f"--model={m}" for m in self.models or ()]
        args += [f"--session={s}" for s in self.sessions or ()]
        if self.max_sessions is not None:
            args.append(f"--max-sessions={self.max_sessions}")
        if self.max_session_duration_seconds is not None:
            args.append(f"--max-session-duration={self.max_session_duration_seconds}")
        if self.expires_after is not None:
            args.append(f"--expires-after={self.expires_after}")
        return args


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The real `reactor-ci` entry, in this process (fast enough for Hypothesis), with exactly ``env``."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def both(sdk: ModuleType, rec: Recorder, opts: Options, home: Path) -> tuple[Seen, Seen, str]:
    """One mint by each client; (the SDK's request, the CLI's request, the CLI's stdout)."""
    rec.take()
    assert sdk.fetch_jwt(KEY, rec.url, **opts.sdk_kwargs()) == JWT
    (by_sdk,) = rec.take()
    code, out, err = run_cli(opts.argv(), base_env(home, rec.url, REACTOR_API_KEY=KEY))
    assert code == 0, err
    (by_cli,) = rec.take()
    assert_no_secret([out, err], {"the app key": KEY}, "reactor-ci's output")
    assert_no_secret([err], {"the JWT": JWT}, "reactor-ci's stderr")
    return by_sdk, by_cli, out


def assert_same_wire(by_sdk: Seen, by_cli: Seen) -> None:
    assert (by_cli.method, by_cli.path) == (by_sdk.method, by_sdk.path) == ("POST", "/tokens")
    for name in COMPARED:
        assert by_cli.headers.get(name) == by_sdk.headers.get(name), name
    assert by_sdk.headers["reactor-api-key"] == KEY
    assert by_sdk.headers["content-type"] == "application/json"
    for seen in (by_sdk, by_cli):
        assert "transfer-encoding" not in seen.headers
        assert int(seen.headers["content-length"]) == len(seen.body)
    assert by_cli.parsed() == by_sdk.parsed()


_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}"
models = st.lists(st.from_regex(rf"{_PART}/{_PART}", fullmatch=True), min_size=1, max_size=4, unique=True)
sessions = st.lists(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,24}", fullmatch=True), min_size=1, max_size=4, unique=True
)


@st.composite
def scoped_options(draw: st.DrawFn) -> Options:
    chosen_models = draw(st.none() | models)
    chosen_sessions = draw(st.none() | sessions)
    scoped = chosen_models is not None or chosen_sessions is not None
    floor = len(chosen_sessions or ())
    cap = draw(st.none() | st.integers(max(1, floor), 2**31 - 1)) if scoped else None
    duration = draw(st.none() | st.integers(1, 86400)) if scoped else None
    return Options(chosen_models, chosen_sessions, cap, duration, draw(st.none() | st.integers(1, 10**7)))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opts=scoped_options())
def test_same_request_as_the_sdk(sdk_auth: ModuleType, recorder: Recorder, tmp_path: Path, opts: Options) -> None:
    by_sdk, by_cli, out = both(sdk_auth, recorder, opts, tmp_path)
    assert_same_wire(by_sdk, by_cli)
    assert json.loads(out)["jwt"] == JWT


def test_unscoped_mint_sends_null_not_an_empty_object(sdk_auth: ModuleType, recorder: Recorder, tmp_path: Path) -> None:
    by_sdk, by_cli, _ = both(sdk_auth, recorder, Options(), tmp_path)
    assert_same_wire(by_sdk, by_cli)
    assert by_sdk.body.strip() == by_cli.body.strip() == b"null"


FULL = Options(["acme/world", "acme/other"], ["sess_a"], 2, 600, 900)


@pytest.mark.parametrize("present", list(itertools.product((False, True), repeat=5)))
def test_every_combination_of_options(
    sdk_auth: ModuleType, recorder: Recorder, tmp_path: Path, present: tuple[bool, ...]
) -> None:
    opts = Options(*(value if on else None for value, on in zip(FULL.sdk_kwargs().values(), present)))
    if opts.models is None and opts.sessions is None and (opts.max_sessions or opts.max_session_duration_seconds):
        # The SDK silently drops the constraints (the server would ignore them on an
        # unscoped token); reactor-ci refuses instead, before any request.
        recorder.take()
        sdk_auth.fetch_jwt(KEY, recorder.url, **opts.sdk_kwargs())
        (by_sdk,) = recorder.take()
        assert "authorization_details" not in (by_sdk.parsed() or {})
        code, out, err = run_cli(opts.argv(), base_env(tmp_path, recorder.url, REACTOR_API_KEY=KEY))
        assert code == 2 and out == ""
        assert "without --model or --session" in err and "ignores" in err
        assert recorder.take() == []
        return
    by_sdk, by_cli, _ = both(sdk_auth, recorder, opts, tmp_path)
    assert_same_wire(by_sdk, by_cli)


@pytest.mark.parametrize(
    ("status", "code", "exit_code"), [(400, "invalid_request", 2), (403, "wrong_key_type", 3), (401, "nope", 3)]
)
def test_errors_surface_like_the_sdk(
    sdk_auth: ModuleType, recorder: Recorder, tmp_path: Path, status: int, code: str, exit_code: int
) -> None:
    """The SDK surfaces the status and the server's body; reactor-ci the status, code and message, exit by class."""
    message = "authorization_details: a bound session is closed"
    recorder.status, recorder.answer = status, {"error": {"code": code, "message": message}}
    try:
        opts = Options(sessions=["sess_closed"])
        with pytest.raises(sdk_auth.AuthError, match=str(status)) as raised:
            sdk_auth.fetch_jwt(KEY, recorder.url, **opts.sdk_kwargs())
        assert message in str(raised.value)
        result, out, err = run_cli(opts.argv(), base_env(tmp_path, recorder.url, REACTOR_API_KEY=KEY))
        assert result == exit_code and out == ""
        assert f"HTTP {status}" in err
        if status == 400:
            assert message in err and "open session" in err
        assert "Traceback" not in err
        assert_no_secret([err], {"the app key": KEY})
        sent = recorder.take()
        assert len(sent) == 2 and sent[0].parsed() == sent[1].parsed()  # 4xx: never retried
    finally:
        recorder.status, recorder.answer = 200, {}


def test_the_installed_entry_point_sends_the_same(sdk_auth: ModuleType, recorder: Recorder, tmp_path: Path) -> None:
    """The same through a real `python -m reactor_ci` process (the in-process runs above are for speed)."""
    from tests.clirun import run

    for opts in (FULL, Options()):
        recorder.take()
        sdk_auth.fetch_jwt(KEY, recorder.url, **opts.sdk_kwargs())
        result = run(opts.argv(), base_env(tmp_path, recorder.url, REACTOR_API_KEY=KEY))
        assert result.code == 0, result.stderr
        by_sdk, by_cli = recorder.take()
        assert_same_wire(by_sdk, by_cli)
        assert_no_secret([result.output], {"the app key": KEY})
