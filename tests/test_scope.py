"""The scope rules as properties (Hypothesis): what the user may ask, and what a JWT may state back.

reactor_ci/scope.py is the one home of the input rules: any text either
becomes a scope every part of which obeys the documented rules, or a
UsageError (exit 2) that never echoes the value. reactor_ci/api.py reads the
scope a JWT's claims state: any claims either give a bounded, printable
scope or "unreadable" (ValueError), nothing else.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import scope
from reactor_ci.api import TokenScope, claimed_scope, scope_from_details, token_request_body
from reactor_ci.errors import ExitCode, UsageError
from reactor_ci.scope import ScopeFlags, check_scope, describe, split_list

MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

VOCABULARY = Path(scope.__file__).read_text(encoding="utf-8")
texts = st.text(st.characters(codec="utf-8"), max_size=30)
near_models = st.one_of(texts, st.from_regex(MODEL, fullmatch=True), st.builds("{}/{}".format, texts, texts))
counts = st.none() | st.one_of(texts, st.integers(-5, 90000).map(str), st.sampled_from(["", " 7 ", "1e3", "٣"]))


@settings(max_examples=400, deadline=None)
@given(
    models=st.none() | st.lists(near_models, max_size=4),
    sessions=st.none() | st.lists(st.one_of(texts, st.from_regex(SESSION, fullmatch=True)), max_size=4),
    cap=counts,
    duration=counts,
)
def test_check_scope_accepts_only_what_the_rules_allow(
    models: list[str] | None, sessions: list[str] | None, cap: str | None, duration: str | None
) -> None:
    try:
        scope = check_scope(models, sessions, cap, duration)
    except UsageError as exc:
        assert exc.exit_code == ExitCode.USAGE
        # The values are never echoed: a message holds only words of scope.py's own text, and numbers.
        for value in [*(models or []), *(sessions or [])]:
            if len(value) >= 6 and value not in VOCABULARY and not value.isdigit():
                assert value not in exc.message and value not in (exc.fix or "")
        return
    if scope is None:
        assert not models and not sessions
        assert not (cap or "").strip() and not (duration or "").strip()
        return
    assert scope.models is not None or scope.sessions is not None
    for name in scope.models or ():
        assert MODEL.fullmatch(name)
    for sid in scope.sessions or ():
        assert SESSION.fullmatch(sid)
    for names in (scope.models, scope.sessions):
        assert names is None or len(set(names)) == len(names)
    if scope.max_sessions is not None:
        assert scope.max_sessions >= max(1, len(scope.sessions or ()))
    if scope.max_session_duration_seconds is not None:
        assert 1 <= scope.max_session_duration_seconds <= 86400
    # What was asked is what goes on the wire.
    body = token_request_body(
        models=scope.models,
        sessions=scope.sessions,
        max_sessions=scope.max_sessions,
        max_session_duration_seconds=scope.max_session_duration_seconds,
    )
    assert body is not None and scope_from_details(body["authorization_details"]) == scope


@given(st.text(max_size=60))
def test_split_list_items_are_stripped_and_never_empty(raw: str) -> None:
    items = split_list(raw)
    assert all(item and item == item.strip() and "," not in item and "\n" not in item for item in items)
    assert split_list(",\n".join(items)) == items


def test_flags_name_the_inputs_of_the_front_ends() -> None:
    flags = ScopeFlags("models", "sessions", "max-sessions", "max-session-duration")
    with pytest.raises(UsageError, match="max-session-duration without models or sessions"):
        check_scope(None, None, None, "600", flags)


def _jwt(payload: bytes) -> str:
    return "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + ".sig"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
scope_like = st.builds(
    lambda models, sessions, constraints: [
        {"type": "session", "resources": {"models": models, **sessions}, "constraints": constraints}
    ],
    st.one_of(st.just({"all": True}), st.builds(lambda m: {"match": m}, st.lists(st.text(max_size=300), max_size=5))),
    st.one_of(st.just({}), st.builds(lambda b: {"sessions": {"bind": b}}, st.lists(st.text(max_size=30), max_size=5))),
    st.dictionaries(st.sampled_from(["max_sessions", "max_session_duration_seconds"]), json_values, max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(details=st.one_of(json_values, scope_like), junk=st.binary(max_size=40))
def test_a_stated_scope_is_bounded_or_unreadable(details: Any, junk: bytes) -> None:
    for jwt in (_jwt(json.dumps({"authorization_details": details}).encode()), _jwt(junk), "not.a-jwt"):
        try:
            scope = claimed_scope(jwt)
        except ValueError:
            continue
        if scope is None:
            continue
        assert isinstance(scope, TokenScope)
        for names in (scope.models, scope.sessions):
            assert names is None or (len(names) <= 100 and all(0 < len(n) <= 200 and n.isprintable() for n in names))
        for number in (scope.max_sessions, scope.max_session_duration_seconds):
            assert number is None or (type(number) is int and 0 <= number < 2**31)
        text = describe(scope, markdown=True)
        assert text.isprintable()
