"""reactor_ci.regex: patterns built from the cache are re's own, and any doubt about the cache is a miss.

The strongest check is exact: CPython's ``Pattern.__eq__`` compares the pattern,
the flags and the compiled PROGRAM, so a pattern rebuilt from the cache that
equals ``re.compile(pattern, flags)`` runs the very same program.  Every pattern
a real scan caches (a batch with keys in every encoded form, the log escaping,
the scrubbing) is checked that way, and by matching on Hypothesis-generated text.
"""

from __future__ import annotations

import _sre
import marshal
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import cache, regex
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """reactor_ci.regex with an empty state and its cache under ``tmp_path`` (never the user's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cache.OFF_VAR, raising=False)
    monkeypatch.setattr(regex, "_table", None)
    monkeypatch.setattr(regex, "_fresh", {})
    yield tmp_path / "reactor-ci" / regex._NAME
    regex._fresh.clear()  # nothing left for the atexit hook to write elsewhere


def _scan_everything(cache_home: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """A real batch whose scan compiles every hot-path pattern: keys plain, escaped, URL-encoded, base64."""
    import base64

    key = fake_key()
    files = {
        "plain.env": f"KEY={key}\n",
        "url.txt": f"https://x.test/?k={key[:2]}%5F{key[3:]}\n",
        "esc.json": '{"k": "' + "".join(f"\\u{ord(c):04x}" for c in key[:3]) + key[3:] + '"}\n',
        "b64.yaml": "data: " + base64.b64encode(f"K={key}".encode()).decode() + "\n",
        "wrapped.txt": base64.encodebytes(b"A" * 70 + f"\nK={key}\n".encode()).decode(),
        "log.txt": "##vso[task.setvariable]x\n::warning::y\n",
    }
    for name, text in files.items():
        (work / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTOR_CI_")}
    env.update(XDG_CACHE_HOME=str(cache_home), PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan", "-q", *sorted(files)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )


def _entries(path: Path) -> dict[tuple[str | bytes, int], tuple[object, ...]]:
    fmt, table = marshal.loads(path.read_bytes())
    assert fmt == regex._FORMAT
    assert isinstance(table, dict)
    return table


@pytest.fixture(scope="module")
def scan_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str | bytes, int], tuple[object, ...]]:
    home = tmp_path_factory.mktemp("cache")
    work = tmp_path_factory.mktemp("work")
    proc = _scan_everything(home, work)
    assert proc.returncode == 1, proc.stderr
    (path,) = (home / "reactor-ci").glob("regex-*")
    assert path.stat().st_mode & 0o777 == 0o600
    return _entries(path)


def test_a_real_scan_caches_every_pattern_of_its_path(
    scan_cache: dict[tuple[str | bytes, int], tuple[object, ...]],
) -> None:
    from reactor_ci.scan.rules import RULES

    patterns = {p for p, _ in scan_cache}
    assert all(rule.regex.encode() in patterns for rule in RULES)
    from reactor_ci import logsafe

    assert logsafe._CONTROL.pattern in patterns and logsafe._INLINE.pattern in patterns
    assert len(scan_cache) <= regex.MAX_ENTRIES


def test_every_cached_program_is_the_one_re_compiles(
    scan_cache: dict[tuple[str | bytes, int], tuple[object, ...]],
) -> None:
    for (pattern, flags), entry in scan_cache.items():
        rebuilt = _sre.compile(pattern, *entry)
        reference = re.compile(pattern, flags)
        # Pattern equality compares pattern, flags and the compiled program itself.
        assert rebuilt == reference, pattern
        assert rebuilt.groupindex == reference.groupindex and rebuilt.groups == reference.groups


_ALPHABET = st.sampled_from([*"rpk_%5Ffu0\\x7ABZaz09-+/=\n\r\t \"'{}:#[]v", "##vso[", "::", "\u2028", "\x1b"])


@settings(max_examples=200, deadline=None)
@given(text=st.lists(_ALPHABET, max_size=120).map("".join), key_at=st.integers(0, 120))
def test_cached_patterns_match_exactly_as_re_does(
    scan_cache: dict[tuple[str | bytes, int], tuple[object, ...]], text: str, key_at: int
) -> None:
    text = text[:key_at] + fake_key() + text[key_at:]
    for (pattern, flags), entry in scan_cache.items():
        rebuilt = _sre.compile(pattern, *entry)
        reference = re.compile(pattern, flags)
        data: str | bytes = text if isinstance(pattern, str) else text.encode("utf-8")
        ours = [(m.span(), m.groups()) for m in rebuilt.finditer(data)]  # type: ignore[arg-type]
        theirs = [(m.span(), m.groups()) for m in reference.finditer(data)]  # type: ignore[arg-type]
        assert ours == theirs, pattern


def test_the_second_run_builds_from_the_cache(fresh: Path) -> None:
    pattern = rb"(?P<secret>rp_(?P<body>[A-Za-z0-9_-]{20,}))"
    first = regex.compile(pattern)
    assert not fresh.exists()
    regex._save()
    assert fresh.exists()
    regex._table, regex._fresh = None, {}
    second = regex.compile(pattern)
    assert second == first == re.compile(pattern)
    assert regex._fresh == {}  # served from the cache, nothing new to keep


def _write_cache(path: Path, table: dict[tuple[str | bytes, int], tuple[object, ...]], mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(marshal.dumps((regex._FORMAT, table)))
    path.chmod(mode)


def test_a_program_the_engine_refuses_is_compiled_by_re_and_replaced(fresh: Path) -> None:
    pattern = rb"rk_[A-Za-z0-9]{20,}"
    good = re.compile(pattern)
    _write_cache(fresh, {(pattern, 0): (0, [1, 2, 3, 99999], 0, {}, (None,))})
    assert regex.compile(pattern) == good
    regex._save()
    regex._table, regex._fresh = None, {}
    assert regex.compile(pattern) == good and regex._fresh == {}  # the broken entry was replaced


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other-format", "group-writable", "symlink", "too-big"])
def test_any_doubt_about_the_cache_file_is_a_miss(fresh: Path, damage: str) -> None:
    pattern = rb"rp_[A-Za-z0-9]{20,}"
    # A program that compiles but matches something else: used only if the file were trusted.
    wrong = regex._plain(_capture(rb"never-this"))
    assert wrong is not None
    if damage == "garbage":
        fresh.parent.mkdir(parents=True, mode=0o700)
        fresh.write_bytes(os.urandom(64))
        fresh.chmod(0o600)
    elif damage == "truncated":
        _write_cache(fresh, {(pattern, 0): wrong})
        fresh.write_bytes(fresh.read_bytes()[:-7])
    elif damage == "other-format":
        fresh.parent.mkdir(parents=True, mode=0o700)
        fresh.write_bytes(marshal.dumps(((0, "another python"), {(pattern, 0): wrong})))
        fresh.chmod(0o600)
    elif damage == "group-writable":
        _write_cache(fresh, {(pattern, 0): wrong}, mode=0o620)
    elif damage == "symlink":
        real = fresh.parent / "elsewhere"
        _write_cache(real, {(pattern, 0): wrong})
        fresh.symlink_to(real)
    elif damage == "too-big":
        _write_cache(fresh, {(pattern, 0): wrong, (b"pad", 0): (0, [0] * (regex._MAX_BYTES // 4), 0, {}, (None,))})
    assert regex.compile(pattern) == re.compile(pattern)


def _capture(pattern: bytes) -> tuple[object, ...]:
    from re import _compiler  # type: ignore[attr-defined]

    seen: list[tuple[object, ...]] = []
    engine = _compiler._sre

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(engine, name)

        @staticmethod
        def compile(*args: object) -> object:
            seen.append(args)
            return engine.compile(*args)

    _compiler._sre = Spy()
    try:
        _compiler.compile(pattern, 0)
    finally:
        _compiler._sre = engine
    return seen[0][1:]


def test_the_cache_can_be_turned_off(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.OFF_VAR, "1")
    assert regex.compile(rb"rk_live_[A-Za-z0-9]{24,}") == re.compile(rb"rk_live_[A-Za-z0-9]{24,}")
    regex._save()
    assert not fresh.parent.exists()


def test_the_cache_is_bounded(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regex, "MAX_ENTRIES", 3)
    for i in range(6):
        regex.compile(f"k{i}[0-9]+")
    long = "a" * (regex.MAX_PATTERN + 1)
    assert regex.compile(long) == re.compile(long)
    assert len(regex._fresh) == 3 and (long, 0) not in regex._fresh


def test_a_bad_pattern_raises_re_error_as_re_compile_does(fresh: Path) -> None:
    with pytest.raises(re.error):
        regex.compile("(unclosed")


@given(st.text(max_size=60))
def test_escape_is_re_escape_for_text(text: str) -> None:
    assert regex.escape(text) == re.escape(text)


@given(st.binary(max_size=60))
def test_escape_is_re_escape_for_bytes(data: bytes) -> None:
    assert regex.escape(data) == re.escape(data)


def test_the_flag_constants_are_re_s() -> None:
    assert int(re.IGNORECASE) == regex.IGNORECASE
