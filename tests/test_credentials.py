from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import timeutil
from reactor_ci.credentials import Credentials, CredentialsStore
from reactor_ci.errors import ExitCode, UsageError
from reactor_ci.timeutil import format_time, parse_time

KEY = "rp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF"
TOKEN = "rrt_" + "a" * 20 + "b" * 20


def _creds(**kw: object) -> Credentials:
    base: dict[str, object] = dict(
        api_key=KEY,
        partner_id="acme",
        registry="registry.reactor.inc/acme",
        registry_token=TOKEN,
        registry_token_expiry=datetime(2030, 1, 1, 12, tzinfo=timezone.utc),
    )
    base.update(kw)
    return Credentials(**base)  # type: ignore[arg-type]


def test_round_trip_official_format_and_unknown_fields_kept(tmp_path: Path) -> None:
    path = tmp_path / ".reactor" / "credentials"
    path.parent.mkdir()
    official = {
        "api_key": KEY,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": TOKEN,
        "registry_token_expiry": "2030-01-01T12:00:00Z",
        "cli_future_field": {"x": 1},
    }
    path.write_text(json.dumps(official))
    os.chmod(path, 0o600)
    store = CredentialsStore(path)
    creds = store.load()
    assert creds is not None
    assert creds.registry_host == "registry.reactor.inc"
    assert creds.namespace == "acme"
    assert creds.docker_username == "acme"
    assert creds.lifetime == 12 * 3600  # the official file has no issue time
    store.save(creds, keep=store.load_raw())
    again = json.loads(path.read_text())
    assert again["cli_future_field"] == {"x": 1}
    for field in ("api_key", "partner_id", "registry", "registry_token", "registry_token_expiry"):
        assert again[field] == official[field]


def test_save_is_private_and_atomic(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "home" / ".reactor" / "credentials")
    store.save(_creds())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in store.path.parent.iterdir()] == ["credentials"]  # no temp file left


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "credentials")
    store.save(_creds())
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(store.path.read_text())
            except ValueError as exc:
                bad.append(str(exc))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(300):
        store.save(_creds(partner_id=f"acme{i}", extra={"pad": "x" * (i * 37 % 5000)}))
    stop.set()
    for t in threads:
        t.join()
    assert bad == []


@pytest.mark.parametrize("content", ["not json", "[1, 2]", "", '{"api_key": 1}', '{"partner_id": "x"}'])
def test_corrupt_file_is_an_error_and_never_overwritten(tmp_path: Path, content: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(UsageError) as info:
        CredentialsStore(path).load()
    assert info.value.exit_code == ExitCode.USAGE
    assert "login" in str(info.value) or "rm " in str(info.value)
    assert path.read_text() == content


def test_a_huge_file_is_refused_unread_with_the_fix(tmp_path: Path) -> None:
    """The store reads through the one safe reader (fastread.read_bounded): 256 kB at most."""
    path = tmp_path / "credentials"
    path.write_bytes(b"{" + b" " * (300 * 1024) + b"}")
    os.chmod(path, 0o600)
    with pytest.raises(UsageError) as info:
        CredentialsStore(path).load()
    assert info.value.message == f"{path} is larger than 256 kB; it is not a credentials file"
    assert info.value.fix == f"inspect it, then remove it and log in again: `rm {path}`."
    assert (info.value.exit_code, info.value.code) == (ExitCode.USAGE, "corrupt_credentials")


def test_a_file_swapped_for_a_fifo_after_the_path_check_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("{}")
    os.chmod(path, 0o600)
    store = CredentialsStore(path)
    assert store._check_path()
    path.unlink()
    os.mkfifo(path, 0o600)  # between the lstat and the open: read_bounded opens non-blocking, fstat says FIFO
    store._check_path = lambda: True  # type: ignore[method-assign]
    with pytest.raises(UsageError) as info:
        store.load()
    assert info.value.message == f"{path} is not a regular file; it is not a credentials file"
    assert info.value.code == "corrupt_credentials"


def test_a_file_removed_after_the_path_check_is_no_file(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "credentials")
    store._check_path = lambda: True  # type: ignore[method-assign]
    assert store.load() is None


def test_bad_expiry_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    data = _creds().to_json()
    data["registry_token_expiry"] = "tomorrow"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="registry_token_expiry"):
        CredentialsStore(path).load()


def test_world_readable_file_is_tightened_with_a_warning(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "credentials")
    store.save(_creds())
    os.chmod(store.path, 0o644)
    assert store.load() is not None
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert any("readable by other users" in w for w in store.warnings)


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("{}")
    link = tmp_path / "credentials"
    link.symlink_to(target)
    store = CredentialsStore(link)
    with pytest.raises(UsageError, match="symlink"):
        store.load()
    with pytest.raises(UsageError, match="symlink"):
        store.save(_creds())
    assert target.read_text() == "{}"


def test_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "credentials").mkdir()
    with pytest.raises(UsageError, match="directory"):
        CredentialsStore(tmp_path / "credentials").save(_creds())


def test_path_through_a_file_is_unwritable(tmp_path: Path) -> None:
    # An unwritable home, reproducible even as root: a path component that is a regular file.
    blocker = tmp_path / "home"
    blocker.write_text("")
    with pytest.raises(UsageError) as info:
        CredentialsStore(blocker / ".reactor" / "credentials").save(_creds())
    assert info.value.exit_code == ExitCode.USAGE
    assert "REACTOR_CREDENTIALS" in str(info.value)


def test_delete_is_idempotent_and_removes_damaged_files(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "credentials")
    store.path.write_text("garbage with a secret " + KEY)
    assert store.delete() is True
    assert store.delete() is False
    assert not store.path.exists()


def test_git_worktree_detection(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    store = CredentialsStore(tmp_path / "repo" / "sub" / "credentials")
    assert store.git_worktree() == tmp_path / "repo"
    assert CredentialsStore(tmp_path / "elsewhere" / "credentials").git_worktree() is None


def test_times() -> None:
    t = parse_time("2025-01-01T12:00:00Z")
    assert format_time(t) == "2025-01-01T12:00:00Z"
    assert parse_time("2025-01-01T14:00:00+02:00") == t
    assert parse_time(t.timestamp()) == t
    with pytest.raises(ValueError):
        parse_time("")


def test_repr_hides_secrets() -> None:
    creds = _creds(issued_at=datetime(2030, 1, 1, tzinfo=timezone.utc) - timedelta(hours=1))
    assert KEY not in repr(creds) and TOKEN not in repr(creds)
    assert creds.lifetime == 13 * 3600


# -- timeutil: any input is a time in the window or ValueError ----------------


@given(
    value=st.one_of(
        st.text(max_size=40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1e300", "2025-01-01T00:00:00z"]),
    )
)
def test_parse_time_is_a_time_in_the_window_or_value_error(value: object) -> None:
    try:
        parsed = timeutil.parse_time(value)
    except ValueError:
        return
    assert parsed.tzinfo is not None
    assert timeutil.MIN_EPOCH <= parsed.timestamp() <= timeutil.MAX_EPOCH
    assert timeutil.parse_time(timeutil.format_time(parsed)) == parsed.replace(microsecond=0)
    assert timeutil.human_duration(parsed.timestamp())  # never raises on any accepted time
