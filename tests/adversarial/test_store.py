"""A hostile credentials store: damaged files, planted links, loose and read-only directories.

The real `reactor-ci` and the real `docker-credential-reactor` run as
subprocesses over files built to break them; Hypothesis drives the parser
in-process. The property: exit 2 with the fix (the helper: exit 1 and a
message on stdout), never a traceback, the file intact, no secret printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci.credentials import Credentials, CredentialsStore
from reactor_ci.errors import ReactorCIError
from reactor_ci.session import Session
from tests import hostile_server as hs
from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret

KEY = "rp_storecanary_0123456789abcdef"
TOKEN = "regtok-store-canary-0123456789abcdef"
HOST = "registry.reactor.inc"
SECRETS = [KEY, KEY[3:]]


def _good(**changes: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    data: dict[str, Any] = {
        "api_key": KEY,
        "partner_id": "acme",
        "registry": f"{HOST}/acme",
        "registry_token": TOKEN,
        "registry_token_expiry": (now + timedelta(hours=11)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "registry_token_issued_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "registry_username": "acme",
    }
    data.update(changes)
    return data


def _write(path: Path, content: bytes | dict[str, Any]) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    path.write_bytes(raw)
    path.chmod(0o600)
    return raw


def _helper(env: dict[str, str], action: str = "get", stdin: str = HOST) -> Result:
    script = Path(sysconfig.get_path("scripts")) / "docker-credential-reactor"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "reactor_ci.docker.helper"]
    proc = subprocess.run([*argv, action], input=stdin, env=env, capture_output=True, text=True, timeout=60)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _env(home: Path, **extra: str) -> dict[str, str]:
    return base_env(
        home,
        "http://127.0.0.1:9",
        REACTOR_CREDENTIALS=str(home / ".reactor" / "credentials"),
        REACTOR_CI_RETRY_ATTEMPTS="1",
        REACTOR_CI_HTTP_TIMEOUT="2",
        **extra,
    )


def _clean(result: Result) -> None:
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    assert_no_secret([result.output], SECRETS)


HOSTILE_FILES: dict[str, bytes | dict[str, Any]] = {
    "year-1-offset": _good(registry_token_expiry="0001-01-01T00:00:00+05:00"),
    "year-9999-offset": _good(registry_token_expiry="9999-12-31T23:59:59-05:00"),
    "issued-1e300": _good(registry_token_issued_at=1e300),
    "expiry-1e20-text": _good(registry_token_expiry="1e20"),
    "issued-year-1": _good(registry_token_issued_at="0001-01-01T00:00:00+01:00"),
    "nested": b'{"api_key": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "nan": b'{"api_key": NaN}',
    "huge-int": b'{"registry_token_expiry": 1' + b"0" * 5000 + b"}",
    "foreign-registry": _good(registry="ghcr.io/victim"),
    "registry-garbage": _good(registry="a b\n::warning::x"),
    "not-utf8": b'{"api_key": "\xff\xfe"}',
    "array": b"[1, 2]",
    "oversized": b'{"pad": "' + b"x" * 300_000 + b'"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_files_exit_2_and_stay_intact(tmp_path: Path, name: str) -> None:
    path = tmp_path / ".reactor" / "credentials"
    raw = _write(path, HOSTILE_FILES[name])
    env = _env(tmp_path)
    status = run(["status"], env, timeout=60)
    _clean(status)
    assert status.code == 2, status.output
    assert "fix:" in status.stderr
    got = _helper(env)
    _clean(got)
    assert got.code == 1 and TOKEN not in got.stdout, got.output
    assert path.read_bytes() == raw


def test_foreign_registry_in_the_file_is_never_served(tmp_path: Path) -> None:
    path = tmp_path / ".reactor" / "credentials"
    _write(path, _good(registry="ghcr.io/victim"))
    got = _helper(_env(tmp_path), stdin="https://ghcr.io/v2/")
    _clean(got)
    assert got.code == 1 and TOKEN not in got.stdout and "not a Reactor registry" in got.stdout


@pytest.fixture
def server() -> Iterator[hs.HostileServer]:
    with hs.HostileServer() as srv:
        yield srv


def _login(server: hs.HostileServer, home: Path, **extra: str) -> Result:
    env = base_env(home, server.url, REACTOR_API_KEY=KEY, REACTOR_CI_RETRY_ATTEMPTS="1", **extra)
    return run(["login"], env, timeout=60)


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_a_planted_lock_is_refused(server: hs.HostileServer, tmp_path: Path, kind: str) -> None:
    creds = tmp_path / ".reactor" / "credentials"
    creds.parent.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = creds.with_name("credentials.lock")
    if kind == "symlink":
        lock.symlink_to(victim)
    else:
        lock.mkdir()
    result = _login(server, tmp_path)
    _clean(result)
    assert result.code == 2 and "lock" in result.stderr and "fix:" in result.stderr, result.output
    assert victim.read_text() == "precious\n"  # filelock's O_TRUNC never reached it


@contextlib.contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """A directory this process cannot write, even as root (chattr +i)."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(directory)]).returncode:
            pytest.skip("root without chattr +i: cannot make a read-only directory")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(directory)], check=False)
    else:
        directory.chmod(0o500)
        try:
            yield
        finally:
            directory.chmod(0o700)


def test_a_read_only_credentials_directory_is_exit_2(server: hs.HostileServer, tmp_path: Path) -> None:
    creds = tmp_path / ".reactor" / "credentials"
    raw = _write(creds, _good(registry_token_expiry="2001-01-01T00:00:00Z"))
    with _read_only(creds.parent):
        result = _login(server, tmp_path)
        _clean(result)
        assert result.code == 2 and "writable" in result.stderr, result.output
        logout = run(["logout"], base_env(tmp_path), timeout=60)
        _clean(logout)
        assert logout.code == 2 and "writable" in logout.stderr, logout.output
    assert creds.read_bytes() == raw


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_loose_reactor_directory_is_refused(server: hs.HostileServer, tmp_path: Path, mode: int) -> None:
    directory = tmp_path / ".reactor"
    directory.mkdir()
    directory.chmod(mode)
    result = _login(server, tmp_path)
    _clean(result)
    assert result.code == 2 and "writable by other users" in result.stderr and "chmod 700" in result.stderr
    assert not (directory / "credentials").exists()


def test_a_reactor_link_to_a_loose_directory_is_refused(server: hs.HostileServer, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (tmp_path / ".reactor").symlink_to(shared)
    result = _login(server, tmp_path)
    _clean(result)
    assert result.code == 2 and "writable by other users" in result.stderr
    assert list(shared.iterdir()) == []


def test_parents_are_private_under_umask_000(server: hs.HostileServer, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c" / "credentials"
    env = base_env(tmp_path, server.url, REACTOR_API_KEY=KEY, REACTOR_CREDENTIALS=str(deep))
    proc = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$0" -m reactor_ci login', sys.executable],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    for directory in (tmp_path / "a", tmp_path / "a" / "b", deep.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE(deep.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["login", "logout"])
def test_leftover_temp_files_are_removed(server: hs.HostileServer, tmp_path: Path, command: str) -> None:
    directory = tmp_path / ".reactor"
    _write(directory / "credentials", _good())
    leftover = directory / ".credentials.abc123.tmp"
    leftover.write_text(json.dumps(_good()))
    other = directory / "notes.tmp"
    other.write_text("mine")
    result = _login(server, tmp_path) if command == "login" else run(["logout"], base_env(tmp_path), timeout=60)
    assert result.code == 0, result.output
    assert not leftover.exists() and other.exists()


def test_helper_log_never_follows_a_symlink(tmp_path: Path) -> None:
    path = tmp_path / ".reactor" / "credentials"
    _write(path, _good())
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    log = tmp_path / "helper.log"
    log.symlink_to(victim)
    got = _helper(_env(tmp_path, REACTOR_CI_HELPER_LOG=str(log)))
    assert got.code == 0 and json.loads(got.stdout)["Secret"] == TOKEN
    assert victim.read_text() == "precious\n" and log.is_symlink()
    fresh_log = tmp_path / "fresh.log"
    assert _helper(_env(tmp_path, REACTOR_CI_HELPER_LOG=str(fresh_log))).code == 0
    assert stat.S_IMODE(fresh_log.stat().st_mode) == 0o600


# -- Hypothesis: any file content, in-process ----------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=False),
    st.text(max_size=24),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "2025-02-29T00:00:00Z",
            "ghcr.io/victim",
            f"{HOST}/acme",
        ]
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(sorted(_good())), _VALUES, max_size=4))
def test_any_credentials_file_loads_or_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]
) -> None:
    monkeypatch.setenv("REACTOR_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REACTOR_CI_RETRY_ATTEMPTS", "1")
    path = tmp_path / "h" / "credentials"
    raw = _write(path, _good(**changes))
    store = CredentialsStore(path)
    try:
        creds = Session(store, min_remaining=0).current()
    except ReactorCIError as exc:
        assert int(exc.exit_code) in (2, 3), exc
        assert_no_secret([str(exc), repr(exc)], SECRETS)
    else:
        assert isinstance(creds, Credentials) and creds.registry_host == HOST
        assert_no_secret([repr(creds)], [KEY, TOKEN])
    assert path.read_bytes() == raw
