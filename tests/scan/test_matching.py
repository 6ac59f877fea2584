"""The text prefilter (``matching.text_prefilter``): never False where a rule's keyword stands."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reactor_ci.scan import engine
from reactor_ci.scan.matching import _anchored_search, boundary_ok, key_lead, key_start_search, text_prefilter

RULES = engine.compile_rules()
WORTH = text_prefilter(RULES)
# Pieces that build keywords, near misses and JSON starts, but no %, backslash or base64 signature.
PIECES = ["rp_", "rk_", "registry_", "token", "toke", "auths", "auth", "{", "[", " ", "\n", "_", "r", "k", "x", "-"]


def _key_may_start(data: bytes) -> bool:
    """A key prefix where boundary_ok lets a key start (the key rules' own test)."""
    return any(data[i : i + 3] in (b"rp_", b"rk_") and boundary_ok(data, i) for i in range(len(data)))


@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_prefilter_keeps_every_keyword(pieces: list[str]) -> None:
    """A key prefix where a key may start (not ``xrk_``, ``network_``); in JSON documents their keywords too."""
    data = "".join(pieces).encode()
    is_json = data.lstrip().startswith((b"{", b"["))
    expected = _key_may_start(data) or (is_json and (b"auths" in data or b"registry_token" in data))
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


# What may stand before a key prefix: word bytes, an escape's letter, a URL-encoded byte's digits.
BOUNDARY_PIECES = ["rp_", "rk_", "r", "k", "p", "_", "x", "n", "t", "\\", "%", "3", "D", "G", "-", " ", ".", "\n"]


@given(st.lists(st.sampled_from(BOUNDARY_PIECES), max_size=24))
def test_key_start_search_is_boundary_ok_at_a_key_prefix(pieces: list[str]) -> None:
    """The prefilter's one regex says exactly what boundary_ok says at each rp_/rk_, from any start."""
    data = "".join(pieces).encode()
    search = key_start_search([b"rp_", b"rk_"])
    assert (search(data) is not None) is _key_may_start(data)
    # Leads of different lengths take the per-lead form: the same answers.
    mixed = key_start_search([b"rp_", b"rk_", b"rkk_"])
    assert (mixed(data) is not None) is _key_may_start(data)
    # A plain keyword beside the leads is found anywhere.
    assert (key_start_search([b"rp_"], [b"rk_"])(data) is not None) is (
        b"rk_" in data or any(data[i : i + 3] == b"rp_" and boundary_ok(data, i) for i in range(len(data)))
    )


def test_key_rules_lead_with_their_prefix_and_others_do_not() -> None:
    """Only rules whose every match starts at their prefix, checked at a boundary, get the boundary prefilter."""
    leads = {r.rule.id: key_lead(r) for r in RULES}
    assert leads == {
        "reactor-partner-key": b"rp_",
        "reactor-app-key": b"rk_",
        "stripe-restricted-key": b"rk_",
        "reactor-credentials-file": None,
        "docker-config-reactor-auth": None,
    }
    from reactor_ci.scan.rules import Rule

    def lead_of(pattern: str, boundary: bool = True) -> bytes | None:
        rule = Rule(
            id="t",
            description="t",
            regex=pattern,
            keywords=("rk_",),
            boundary=boundary,
            validator="key_body",
            severity="critical",
            fix="-",
        )
        return key_lead(engine.compile_rules([rule])[0])

    assert lead_of(r"(?P<secret>rk_[a-z]{20})") == b"rk_"
    assert lead_of(r"(?P<secret>rk_[a-z]{20})", boundary=False) is None
    assert lead_of(r"(?P<secret>rk_?[a-z]{20})") is None  # the "_" is optional: "rk" may start a match
    assert lead_of(r"(?P<secret>rk_[a-z]{20}|x[a-z]{20})") is None  # a match may start with "x"
    assert lead_of(r"(?P<secret>rk_(?:a|b)[a-z]{20})") == b"rk_"  # an alternative inside a group is fine
    assert lead_of(r"(?P<secret>rk_[|][a-z]{20})") == b"rk_"  # a "|" in a class is no alternative
    assert lead_of(r"key=(?P<secret>rk_[a-z]{20})") is None  # the match starts before the prefix


def test_a_plain_rule_keyword_under_a_lead_is_found_anywhere() -> None:
    """A rule without the boundary test whose keyword a key rule's lead covers (``rk_live`` under ``rk_``)."""
    from reactor_ci.scan.rules import RULES as BUILT_IN
    from reactor_ci.scan.rules import Rule

    plain = Rule(
        id="plain-live",
        description="t",
        regex=r"rk_live_(?P<secret>[a-z]{12})",
        keywords=("rk_live",),
        validator="key_body",
        severity="critical",
        fix="-",
    )
    worth = text_prefilter(engine.compile_rules((*BUILT_IN, plain)))
    for data in (b"xrk_live_abcdefghijkl", b'{"a": "xrk_live_abcdefghijkl"}'):
        assert worth(data, len(data))
    # Outside JSON the key rules keep their boundary; in a JSON document, with a plain keyword
    # under a lead, the joined JSON pass falls back to plain keywords (a superset: safe).
    assert not worth(b"network_ fork_", 14)
    assert worth(b'{"network_": 1}', 15)
    # The built-in rules alone: a key prefix inside a word is no key, in JSON too.
    assert not WORTH(b'{"xrk_live_abcdefghijkl": 1}', 28)
    assert WORTH(b'{"rk_live_abcdefghijkl": 1}', 27)
