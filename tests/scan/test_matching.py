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


# Pieces of the encoded key prefixes and their near misses, for the searches scan_bytes starts at a rare byte.
ENCODED_PIECES = [
    "r",
    "k",
    "p",
    "rk",
    "rp",
    "%",
    "%5",
    "5F",
    "5f",
    "5",
    "F",
    "\\",
    "\\u",
    "u005",
    "\\x",
    "72",
    "_",
    " ",
    "\n",
]


@given(st.lists(st.sampled_from(ENCODED_PIECES), max_size=24))
def test_scan_bytes_encoded_prefix_test_is_the_plain_search(pieces: list[str]) -> None:
    """scan_bytes finds ``rk%5F``/``rp\\u005f`` from memchr to "%" or a backslash: the same answer as the one regex."""
    from reactor_ci.scan import decode, matching

    data = "".join(pieces).encode()
    n = len(data)
    assert bool(matching._URL_ENCODED(data, n) or matching._JSON_ESCAPED(data, n)) is (
        matching._ENCODED_PREFIX.search(data) is not None
    )
    assert matching._after(b"\\", decode.ESCAPE_SEARCH)(data, n) is (decode.ESCAPE_SEARCH(data) is not None)


@given(
    st.lists(st.sampled_from(["c", "nB", "f", "cm", "tf", "J", "wX", "rX", "y", "cF", "a1", "\n", "\r", "\r\n", "Q"]))
)
def test_base64_test_keeps_every_wrapped_signature(pieces: list[str]) -> None:
    """might_hold_base64_key searches the text without line breaks: never False where the wrapped pattern matches."""
    from reactor_ci.scan import decode

    data = "".join(pieces).encode()
    if decode.WRAPPED_SEARCH(data) is not None:
        assert decode.might_hold_base64_key(data, 1)
        assert decode.might_hold_base64_key(bytearray(data), 1)
    # A big text led by wrapped base64 gets the same test.
    big = b"Q" * 76 + b"\n" + data + b"\n" + b"x" * (64 * 1024)
    if decode.WRAPPED_SEARCH(big) is not None:
        assert decode.might_hold_base64_key(big, 1)
