"""The doctor's parsers and probes in-process: properties over hostile input,
and real loopback sockets (a dead TCP port, a unix socket that is not Docker,
a server that drips its answer)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.doctor import exit_code
from reactor_ci.doctor.dockercheck import check_daemon, ping_status
from reactor_ci.doctor.model import Context, Result, fail, ok, shown, warn
from reactor_ci.doctor.network import check_api, clock_result, proxy_display, proxy_for
from reactor_ci.errors import ExitCode

_HOSTILE = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


def _ctx(tmp_path: Path, **env: str) -> Context:
    return Context(env=env, api_url=env.get("REACTOR_API_URL", ""), credentials_path=tmp_path / "c", timeout=1.0)


def _one_inert_line(text: str) -> None:
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert not text.lstrip().startswith("::") and "##vso[" not in text


# -- properties ---------------------------------------------------------------------------
@given(_HOSTILE)
def test_clock_result_never_raises_and_stays_one_inert_line(date: str) -> None:
    now = time.time()
    result = clock_result(date, now, now)
    assert result.status in ("ok", "warn", "fail")
    _one_inert_line(result.detail)


@pytest.mark.parametrize(
    ("offset", "status"), [(0, "ok"), (20, "ok"), (-90, "warn"), (200, "warn"), (-400, "fail"), (10**6, "fail")]
)
def test_clock_thresholds(offset: int, status: str) -> None:
    now = time.time()
    result = clock_result(formatdate(now + offset, usegmt=True), now, now)
    assert result.status == status, result
    if status == "fail":
        assert result.exit_code == ExitCode.USAGE


@given(st.binary(max_size=300))
def test_ping_status_never_raises(answer: bytes) -> None:
    status = ping_status(answer)
    assert status is None or status >= 0


def test_ping_status_reads_the_status_line() -> None:
    assert ping_status(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n\r\nOK") == 200
    assert ping_status(b"HTTP/1.0 404 Not Found\r\n\r\n") == 404
    assert ping_status(b"SSH-2.0-OpenSSH_9.2\r\n") is None


@given(user=st.text(min_size=1, max_size=20), password=st.text(min_size=6, max_size=30), rest=_HOSTILE)
def test_proxy_display_never_shows_userinfo(user: str, password: str, rest: str) -> None:
    from urllib.parse import quote

    value = f"http://{quote(user, safe='')}:{quote(password, safe='')}@proxy.example:3128{rest}"
    shown_value = proxy_display(value)
    assert quote(password, safe="") not in shown_value.replace("proxy.example:3128", "")
    _one_inert_line(shown_value)
    proxy_display(rest)  # arbitrary junk: no exception


def test_proxy_for_follows_scheme_and_no_proxy() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://q:2"}
    assert proxy_for("https://api.reactor.inc", env) == ("HTTPS_PROXY", "http://p:1")
    assert proxy_for("http://127.0.0.1:5000", env) == ("HTTP_PROXY", "http://q:2")
    assert proxy_for("https://api.reactor.inc", {**env, "NO_PROXY": ".reactor.inc"}) is None
    assert proxy_for("http://127.0.0.1:5000", {**env, "no_proxy": "127.0.0.1"}) is None
    assert proxy_for("https://api.reactor.inc", {}) is None


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", "https://api.reactor.inc", True),
        ("reactor.inc", "https://api.reactor.inc", True),
        ("reactor.inc", "https://reactor.inc", True),
        ("reactor.inc", "https://notreactor.inc", False),
        (".reactor.inc", "https://api.reactor.inc", True),
        (".reactor.inc", "https://reactor.inc", False),  # httpx: subdomains only
        ("127.0.0.1", "http://127.0.0.1:5000", True),
        ("127.0.0.1:5000", "http://127.0.0.1:5000", True),
        ("127.0.0.1:6000", "http://127.0.0.1:5000", False),
        ("127.0.0.2", "http://127.0.0.1:5000", False),
        ("::1", "http://[::1]:5000", True),
        ("localhost", "http://localhost:5000", True),
        ("https://api.reactor.inc", "https://api.reactor.inc", True),
        ("http://api.reactor.inc", "https://api.reactor.inc", False),
        (" , other.example ,api.reactor.inc", "https://api.reactor.inc", True),
    ],
)
def test_no_proxy_matches_like_httpx(no_proxy: str, url: str, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://p:1", "NO_PROXY": no_proxy}
    assert (proxy_for(url, env) is None) is bypassed
    # The reference: httpx's own decision for the same environment.
    import httpx

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with httpx.Client(trust_env=True) as client:
            transport = client._transport_for_url(httpx.URL(url))
            assert (transport is client._transport) is bypassed
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@given(_HOSTILE)
def test_shown_is_bounded_scrubbed_and_inert(text: str) -> None:
    value = shown(text + " rp_" + "k" * 30)
    _one_inert_line(value)
    assert "k" * 30 not in value and len(value) < 2000


def test_exit_code_is_the_class_of_the_first_failure() -> None:
    results: list[Result] = [
        ok("a", "fine"),
        warn("b", "hmm", "do x"),
        fail("c", "bad", "fix", ExitCode.NETWORK),
        fail("d", "worse", "fix", ExitCode.USAGE),
    ]
    assert exit_code(results) == 4
    assert exit_code(results[:2]) == 0


# -- real sockets -------------------------------------------------------------------------------
def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_daemon_on_a_dead_tcp_port_is_named(tmp_path: Path) -> None:
    host = f"tcp://127.0.0.1:{_dead_port()}"
    (result,) = check_daemon(_ctx(tmp_path, DOCKER_HOST=host))
    assert result.status == "fail" and host in result.detail and result.exit_code == ExitCode.DOCKER


@contextlib.contextmanager
def _unix_server(path: Path, answer: bytes) -> Iterator[None]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.close()
        thread.join(5)


def test_a_socket_that_is_not_docker_fails(tmp_path: Path) -> None:
    sock = tmp_path / "s"
    with _unix_server(sock, b"HTTP/1.0 500 Internal\r\n\r\n\x1b[31m::warning::x"):
        (result,) = check_daemon(_ctx(tmp_path, DOCKER_HOST=f"unix://{sock}"))
    assert result.status == "fail" and "500" in result.detail
    _one_inert_line(result.detail)


def test_a_socket_that_answers_ping_passes(tmp_path: Path) -> None:
    sock = tmp_path / "s"
    with _unix_server(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"):
        (result,) = check_daemon(_ctx(tmp_path, DOCKER_HOST=f"unix://{sock}"))
    assert result.status == "ok" and str(sock) in result.detail


@pytest.fixture
def dripping_server() -> Iterator[str]:
    """Answers one byte every 0.3 s: a per-read timeout never fires."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.3)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


@pytest.mark.slow
def test_api_probe_has_a_total_deadline(tmp_path: Path, dripping_server: str) -> None:
    ctx = _ctx(tmp_path, REACTOR_API_URL=dripping_server, PATH=os.environ.get("PATH", ""))
    started = time.monotonic()
    results = check_api(ctx)
    took = time.monotonic() - started
    assert results[0].status == "fail" and "no complete answer" in results[0].detail, results
    assert results[0].exit_code == ExitCode.NETWORK and ctx.api_reachable is False
    assert took < 3 * ctx.timeout + 2, took


@settings(max_examples=30, deadline=None)
@given(_HOSTILE)
def test_check_api_refuses_hostile_urls_cleanly(url: str) -> None:
    ctx = Context(env={}, api_url="ftp://" + url, credentials_path=Path("/nonexistent"), timeout=0.5)
    (result,) = check_api(ctx)
    assert result.status == "fail" and result.exit_code == ExitCode.USAGE
    _one_inert_line(result.detail)


@pytest.mark.parametrize("value", ["tcp://127.0.0.1:notaport", "unix://", "tcp://[::1"])
def test_malformed_docker_host_is_bad_input(tmp_path: Path, value: str) -> None:
    (result,) = check_daemon(_ctx(tmp_path, DOCKER_HOST=value))
    assert result.status == "fail" and result.exit_code == ExitCode.USAGE, result


def test_a_docker_context_is_named_not_guessed(tmp_path: Path) -> None:
    (result,) = check_daemon(_ctx(tmp_path, DOCKER_CONTEXT="remote-builder"))
    assert result.status == "warn" and "remote-builder" in result.detail


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    _HOSTILE,
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-01-01T00:00:00Z"]),
)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            name: _JSON_SCALARS
            for name in (
                "api_key",
                "partner_id",
                "registry",
                "registry_token",
                "registry_token_expiry",
                "registry_token_issued_at",
            )
        },
    ),
    nest=st.integers(min_value=0, max_value=3000),
)
def test_any_credentials_file_gives_results_never_a_crash(fields: dict[str, object], nest: int) -> None:
    import json
    import tempfile

    from reactor_ci import redact
    from reactor_ci.doctor.creds import check_credentials

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "credentials"
        text = json.dumps(fields) if nest < 2000 else "[" * nest + "]" * nest
        path.write_text(text)
        os.chmod(path, 0o600)
        ctx = Context(env={}, api_url="", credentials_path=path, timeout=1.0)
        results = check_credentials(ctx)
    assert results and all(r.status in ("ok", "warn", "fail") for r in results)
    for r in results:
        _one_inert_line(r.detail)
        _one_inert_line(r.fix)
        for secret in (fields.get("api_key"), fields.get("registry_token")):
            if isinstance(secret, str) and len(secret.strip()) >= 8 and secret in redact.registered():
                assert secret not in r.detail + r.fix


@pytest.mark.parametrize("kind", ["symlink", "directory", "fifo"])
def test_credentials_path_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    from reactor_ci.doctor.creds import check_credentials

    path = tmp_path / "credentials"
    if kind == "symlink":
        (tmp_path / "elsewhere").write_text("{}")
        path.symlink_to(tmp_path / "elsewhere")
    elif kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # never opened: a FIFO would block a reader
    (result,) = check_credentials(Context(env={}, api_url="", credentials_path=path, timeout=1.0))
    assert result.status == "fail" and result.exit_code == ExitCode.USAGE, result


@pytest.mark.slow
def test_a_dripping_docker_socket_cannot_hang_the_doctor(tmp_path: Path) -> None:
    sock_path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    stop = threading.Event()

    def drip() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                conn.recv(1024)
                while not stop.is_set():
                    conn.sendall(b"H")
                    time.sleep(0.2)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    ctx = _ctx(tmp_path, DOCKER_HOST=f"unix://{sock_path}")
    ctx.timeout = 0.5
    started = time.monotonic()
    try:
        (result,) = check_daemon(ctx)
    finally:
        stop.set()
        server.close()
        thread.join(5)
    assert result.status == "fail" and "in time" in result.detail, result
    assert time.monotonic() - started < 4


@given(no_proxy=_HOSTILE, url=_HOSTILE)
def test_proxy_decision_never_raises(no_proxy: str, url: str) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": no_proxy}
    for candidate in (url, "https://" + url, "https://api.reactor.inc"):
        chosen = proxy_for(candidate, env)
        assert chosen is None or chosen[0] == "HTTPS_PROXY"
