"""The text prefilter (``matching.text_prefilter``): never False where a rule's keyword stands."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reactor_ci.scan import engine
from reactor_ci.scan.matching import _anchored_search, text_prefilter

RULES = engine.compile_rules()
WORTH = text_prefilter(RULES)
# Pieces that build keywords, near misses and JSON starts, but no %, backslash or base64 signature.
PIECES = ["rp_", "rk_", "registry_", "token", "toke", "auths", "auth", "{", "[", " ", "\n", "_", "r", "k", "x"]


@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_prefilter_keeps_every_keyword(pieces: list[str]) -> None:
    data = "".join(pieces).encode()
    is_json = data.lstrip().startswith((b"{", b"["))
    expected = b"rp_" in data or b"rk_" in data or (is_json and (b"auths" in data or b"registry_token" in data))
    assert WORTH(data, len(data)) is expected
    # A text read into a bigger buffer: only its first n bytes count.
    assert WORTH(data + b"rp_registry_token", len(data)) is expected


def test_anchored_search_joins_needles_that_hold_the_anchor() -> None:
    search, rest = _anchored_search([b"rp_", b"rk_"], [b"auths", b"registry_token"])
    assert rest == (b"auths",)
    assert search(b'{"registry_token": 1}') is not None
    assert search(b"x rk_") is not None
    assert search(b"registry_toke auths") is None
    # Keywords without a common last byte: nothing is joined.
    search, rest = _anchored_search([b"auths", b"rp_"], [b"registry_token"])
    assert rest == (b"registry_token",)
    assert search(b"registry_token") is None and search(b"auths") is not None
