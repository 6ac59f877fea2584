"""reactor_ci/redact.py: the rules status's fast path imports instead of copying, held to the real ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import redact


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    redact._reset_for_tests()
    yield
    redact._reset_for_tests()


_VALUE = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.text(alphabet="rpk_abcXYZ019-\n ", max_size=24),
    st.sampled_from(["rp_canaryPartnerKey0123", "rk_" + "x" * 20, "line one\nline two!", "short"]),
)


@given(values=st.lists(_VALUE, max_size=4), known=st.lists(_VALUE, max_size=3))
def test_new_forms_is_what_register_many_announces(values: list[str | None], known: list[str | None]) -> None:
    redact._reset_for_tests()
    redact.register_many(*known)
    expected = redact.new_forms(*values, known=redact.registered())
    seen: list[list[str]] = []
    redact.register_many()  # nothing new: no call
    redact.add_batch_listener(lambda batch: seen.append(batch))
    seen.clear()  # the listener first gets what is known already
    redact.register_many(*values)
    assert seen == ([expected] if expected else [])


_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="rpk_-eyJ.abcXYZ019 /:\n", max_size=40),
)


@given(text=_TEXT, secrets=st.lists(st.text(alphabet="abcrp_kXYZ019", min_size=6, max_size=12), max_size=3))
def test_unchanged_by_scrub_never_claims_what_scrub_would_change(text: str, secrets: list[str]) -> None:
    redact._reset_for_tests()
    redact.register_many(*secrets)
    if redact.unchanged_by_scrub(text, redact.new_forms(*secrets)):
        assert redact.scrub(text) == text


@pytest.mark.parametrize(
    ("text", "unchanged"),
    [
        ("Organisation:  acme", True),
        ("rp_", True),
        ("rp_/x", True),
        ("a rp_abcdefgh key", False),
        ("rk_-", False),
        ("eyJ", False),
        ("holds the-secret-value", False),
    ],
)
def test_unchanged_by_scrub_cases(text: str, unchanged: bool) -> None:
    assert redact.unchanged_by_scrub(text, ["the-secret-value"]) is unchanged
