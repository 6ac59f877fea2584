"""The helper's fast ``get`` and its full path give the same answer, or the same refusal, for
ARBITRARY credentials files (not only files the store wrote) and arbitrary stdin.

Both runs go through the real protocol layer (:func:`helper.handle`); the "full" run has the fast
path switched off, so every answer comes from the store and the Session. A refresh cannot reach
an API (``REACTOR_API_URL`` is not an http URL), so a case that needs one fails the same way on
both sides, in milliseconds.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reactor_ci import fastread
from reactor_ci.docker import fastpath, helper

STAMP = "%Y-%m-%dT%H:%M:%SZ"

_HOSTS = ["registry.reactor.inc", "REGISTRY.reactor.inc", "ghcr.io", "127.0.0.1:5999", "eu.reactor.inc:5000"]
_hostile = st.text(max_size=40) | st.sampled_from(["", " ", "x" * 5000, "a\nb", "\x1b[31m", "Acme Corp", "é"])


class _At:
    """A time ``offset`` seconds from the moment the example runs, in one of three spellings."""

    def __init__(self, offset: int, spelling: int = 0) -> None:
        self.offset, self.spelling = offset, spelling

    def text(self, now: float) -> str:
        stamp = time.strftime(STAMP, time.gmtime(now + self.offset))
        return [stamp, stamp.replace("Z", "+00:00"), stamp.replace("T", " ")][self.spelling]

    def __repr__(self) -> str:
        return f"_At({self.offset}, {self.spelling})"


def _stamp(offset: int) -> _At:
    return _At(offset)


def _materialize(data: dict[str, Any], now: float) -> dict[str, Any]:
    return {k: v.text(now) if isinstance(v, _At) else v for k, v in data.items()}


# Offsets on a 60 s grid + 30 s, lifetimes on a 120 s grid: never within 30 s of the refresh
# threshold (lifetime/2 or the 3600 s minimum), so the clock moving between runs flips nothing.
_left = st.integers(-10, 30).map(lambda k: k * 1200 + 30)
_lifetime = st.integers(1, 6).map(lambda k: k * 7200)
_time_text = st.one_of(
    st.builds(_At, _left, st.integers(0, 2)),
    st.sampled_from(["", "soon", "9999-99-99T00:00:00Z", "1969-12-31T23:59:59Z", "0"]),
    st.integers(-(10**12), 10**12),
    st.none(),
    _hostile,
)
_registry = st.one_of(
    st.sampled_from(
        [
            "registry.reactor.inc/acme",
            "registry.reactor.inc/Acme Corp",
            " registry.reactor.inc/acme",
            "REGISTRY.reactor.inc/acme",
            "registry.reactor.inc",
            "ghcr.io/victim",
            "https://registry.reactor.inc/acme",
            "registry.reactor.inc//acme",
            "eu.reactor.inc:5000/acme",
            "127.0.0.1:5999/acme",
        ]
    ),
    _hostile,
)


@st.composite
def _files(draw: st.DrawFn) -> dict[str, Any] | str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", "{", "[]", "null", '{"api_key": NaN}', "[[[[[[[["]) | st.text(max_size=60))
    left, whole = draw(_left), draw(_lifetime)
    data: dict[str, Any] = {
        "api_key": "rp_" + "k" * 24,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": "regtok-equivalence-canary",
        "registry_token_expiry": _stamp(left),
        "registry_token_issued_at": _stamp(left - whole),
    }
    for name in [*fastread.REQUIRED, fastread.ISSUED_AT, fastread.USERNAME]:
        choice = draw(st.integers(0, 12))  # most fields stay valid, so every branch is reached
        if choice == 0:
            data.pop(name, None)
        elif choice == 1:
            if name == "registry":
                data[name] = draw(_registry)
            elif name in ("registry_token_expiry", fastread.ISSUED_AT):
                data[name] = draw(_time_text)
            else:
                data[name] = draw(_hostile | st.integers() | st.none() | st.lists(st.integers(), max_size=2))
    if draw(st.booleans()):
        data["extra"] = draw(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))
    return data


_stdin = st.one_of(
    st.sampled_from(_HOSTS).flatmap(
        lambda h: st.sampled_from([h, f"https://{h}", f"https://{h}/v2/", f"  {h}\n", f"http://{h.upper()}"])
    ),
    st.text(max_size=80),
    st.sampled_from(_HOSTS[:1]),
    st.sampled_from(_HOSTS[:1]),
)


def _get(stdin: str, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    # Both paths on the real clock (the full path reads it itself): the runs are milliseconds apart,
    # and every generated time is at least 30 s away from the refresh threshold.
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(fastpath, "fast_get", lambda server, now: (fastpath.SLOW, None, 0.0, None))
        out = io.StringIO()
        code = helper.handle(helper.ReactorHelper(), "get", io.StringIO(stdin), out)
    return code, out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=_files(), stdin=_stdin, minimum=st.sampled_from([None, None, None, "3600", "60", "-1", "nan"]))
def test_fast_and_full_paths_agree_on_arbitrary_files(
    home: Path, monkeypatch: pytest.MonkeyPatch, file: dict[str, Any] | str, stdin: str, minimum: str | None
) -> None:
    monkeypatch.setenv("REACTOR_API_URL", "ftp://no-api.invalid")  # a refresh fails at once (exit 2 class)
    monkeypatch.setenv("REACTOR_CI_REGISTRY_HOSTS", "eu.reactor.inc:5000")
    if minimum is None:
        monkeypatch.delenv("REACTOR_CI_MIN_TOKEN_LIFETIME", raising=False)
    else:
        monkeypatch.setenv("REACTOR_CI_MIN_TOKEN_LIFETIME", minimum)
    path = Path(os.environ["REACTOR_CREDENTIALS"])
    if isinstance(file, dict):
        file = _materialize(file, time.time())
    text = file if isinstance(file, str) else json.dumps(file)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as handle:
        handle.write(text)
    fast = _get(stdin, fast=True, monkeypatch=monkeypatch)
    full = _get(stdin, fast=False, monkeypatch=monkeypatch)
    assert fast == full
    event(f"exit {fast[0]}: {fast[1][:30]}" if fast[0] else "served")
    if fast[0] == 0:
        answer = json.loads(fast[1])
        assert isinstance(file, dict)
        assert answer["Secret"] == file["registry_token"]


def test_the_fast_path_serves_what_the_store_accepts_and_nothing_else(
    home: Path, write_credentials: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copies used to disagree: a 5000-character api_key, a registry with a space, a 5000-character
    user name were served by the fast path and refused or read differently by the store."""
    for fields, expected in [
        ({"api_key": "rp_" + "k" * 5000}, "slow"),
        ({"registry": "registry.reactor.inc/Acme Corp"}, "slow"),
        ({"registry_username": "u" * 5000}, "serve"),
    ]:
        write_credentials(**fields)
        verdict, answer, _, _ = fastpath.fast_get("registry.reactor.inc", time.time())
        assert verdict == expected, fields
        if answer is not None:
            assert answer["Username"] == "sandbox"  # the store ignores an implausible user name too
        code, _ = _get("registry.reactor.inc", fast=True, monkeypatch=monkeypatch)
        assert code == (0 if expected == "serve" else 1)
