"""reactor_ci.cache: the one trust rule for cache files; anything doubtful is a miss, never an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reactor_ci import cache


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cache.OFF_VAR, raising=False)


def test_a_stored_value_loads_back_private_and_atomically(tmp_path: Path) -> None:
    value = (1, "x", {"k": [1, 2]}, None, b"\0")
    cache.store("thing.marshal", value)
    path = Path(cache.path("thing.marshal"))
    assert path == tmp_path / "reactor-ci" / "thing.marshal"
    assert cache.load("thing.marshal", 1024) == value
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["thing.marshal"]  # no temp file left


def test_the_default_place_is_the_home_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.path("a") == str(tmp_path / "home" / ".cache" / "reactor-ci" / "a")


def _plant(tmp_path: Path, data: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "reactor-ci" / "x"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "case", ["missing", "garbage", "empty", "too-big", "group-writable", "world-writable", "symlink", "fifo", "dir"]
)
def test_anything_doubtful_is_a_miss(tmp_path: Path, case: str) -> None:
    import marshal

    good = marshal.dumps({"a": 1})
    if case == "garbage":
        _plant(tmp_path, b"\xff\x00garbage")
    elif case == "empty":
        _plant(tmp_path, b"")
    elif case == "too-big":
        _plant(tmp_path, marshal.dumps("x" * 2000))
    elif case == "group-writable":
        _plant(tmp_path, good, 0o620)
    elif case == "world-writable":
        _plant(tmp_path, good, 0o602)
    elif case == "symlink":
        real = _plant(tmp_path, good)
        real.rename(real.with_name("real"))
        real.symlink_to(real.with_name("real"))
    elif case == "fifo":
        (tmp_path / "reactor-ci").mkdir(mode=0o700)
        os.mkfifo(tmp_path / "reactor-ci" / "x", 0o600)  # must not hang
    elif case == "dir":
        (tmp_path / "reactor-ci" / "x").mkdir(parents=True)
    assert cache.load("x", 1024) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_file_another_user_owns_is_a_miss(tmp_path: Path) -> None:
    import marshal

    path = _plant(tmp_path, marshal.dumps(1))
    assert cache.load("x", 1024) == 1
    os.chown(path, 1, 1)
    assert cache.load("x", 1024) is None


def test_the_off_switch_reads_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.store("x", 1)
    monkeypatch.setenv(cache.OFF_VAR, "1")
    assert cache.load("x", 1024) is None
    cache.store("y", 2)
    assert not (tmp_path / "reactor-ci" / "y").exists()


def test_an_unwritable_place_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where the directory should be
    cache.store("x", 1)
    assert cache.load("x", 1024) is None
    cache.store("bad", object())  # not marshallable: ignored too


def test_a_missing_home_is_never_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    cache.store("x", 1)
    assert not (tmp_path / "no-such-home").exists()
    (tmp_path / "no-such-home").mkdir()
    cache.store("x", 1)  # a home without ~/.cache: both are made, private
    assert cache.load("x", 1024) == 1
    assert (tmp_path / "no-such-home" / ".cache").stat().st_mode & 0o777 == 0o700
