"""The one-call gzip inflater: zlib's, or ISA-L's (``reactor-ci[fast]``), with the same findings and notes.

Every case runs under both inflaters: a planted key, a multi-member file, a
``.tar.gz``, a corrupt, a truncated and a bomb-like stream, and a member over
the size limit must give the same findings and the same notes.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
from collections.abc import Iterator

import pytest

from reactor_ci.scan import archive, engine
from reactor_ci.scan.finding import Skipped
from tests.scan.test_archive_forms import env_text, tar_bytes
from tests.scan_helpers import fake_key, without_module

RULES = engine.compile_rules()
HAS_ISAL = importlib.util.find_spec("isal") is not None


@pytest.fixture(params=["zlib", "isal"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Pins the inflater ``archive`` uses for one test (the dev install has the extra)."""
    if request.param == "isal":
        if not HAS_ISAL:
            pytest.skip("isal is not installed (reactor-ci[fast])")
        from isal import isal_zlib

        monkeypatch.setattr(archive, "_GZIP_ONCE", [(isal_zlib.decompressobj, (isal_zlib.error,))])
    else:
        monkeypatch.setattr(archive, "_GZIP_ONCE", [(zlib.decompressobj, ())])
    yield request.param


def _scan(data: bytes, limits: archive.Limits | None = None) -> tuple[list[tuple[object, ...]], list[tuple[str, str]]]:
    notes: list[Skipped] = []
    found = list(archive.scan_data(data, "x.json.gz", RULES, limits=limits, notes=notes))
    return [(f.rule, f.path, f.line, f.col, f.secret, f.member) for f in found], [(n.path, n.reason) for n in notes]


KEY = fake_key("rp_")
CASES: dict[str, tuple[bytes, archive.Limits | None]] = {
    "key": (gzip.compress(b'{"a": 1}\n' + env_text(KEY)), None),
    "clean": (gzip.compress(b'{"a": "' + b"x" * 100_000 + b'"}'), None),
    "multi-member": (gzip.compress(b"one\n") + gzip.compress(env_text(KEY)), None),
    "tar.gz": (gzip.compress(tar_bytes([("app/.env", env_text(KEY))])), None),
    "corrupt": (gzip.compress(env_text(KEY))[:12] + b"\xff" * 40, None),
    "truncated": (gzip.compress(env_text(KEY) * 50)[:-30], None),
    "over the member limit": (gzip.compress(b"a" * 3000 + env_text(KEY)), archive.Limits(max_member_size=2048)),
    "bomb-like ratio": (
        gzip.compress(b"\0" * (2 << 20)),
        archive.Limits(ratio_floor=1024 * 1024, max_ratio=50),
    ),
    "over the total budget": (gzip.compress(b"b" * 50_000), archive.Limits(max_total_bytes=10_000)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_inflaters_agree(case: str, inflater: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, limits = CASES[case]
    got = _scan(data, limits)
    monkeypatch.setattr(archive, "_GZIP_ONCE", [(zlib.decompressobj, ())])
    assert got == _scan(data, limits), inflater
    found, notes = got
    if case in ("key", "multi-member", "tar.gz"):
        assert [f[4] for f in found] == [KEY]
    if case in ("corrupt", "truncated", "over the member limit", "bomb-like ratio", "over the total budget"):
        assert notes and not found
    if case == "bomb-like ratio":
        assert "compression ratio" in notes[0][1]


def test_without_isal_the_stdlib_inflates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain install: ``isal`` not importable, zlib's inflater, same finding."""
    without_module(monkeypatch, "isal")
    monkeypatch.setattr(archive, "_GZIP_ONCE", [])
    found, _ = _scan(CASES["key"][0])
    assert archive._GZIP_ONCE[0][0] is zlib.decompressobj
    assert [f[4] for f in found] == [KEY]
