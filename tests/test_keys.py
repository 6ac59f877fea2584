from __future__ import annotations

import pytest

from reactor_ci import redact
from reactor_ci.errors import ExitCode, UsageError
from reactor_ci.keys import ApiKey, KeyKind, parse_key

PARTNER = "rp_" + "Q7xK2mP9vL4nR8tW3yZ6bC1dF5gH0jA"
APP = "rk_" + "M3nB8vC2xZ7lK4jH9gF6dS1aP5oI0uY"


def test_trailing_newline_and_spaces_are_stripped() -> None:
    key = parse_key(f"  {PARTNER}\n", expect=KeyKind.PARTNER)
    assert key.secret == PARTNER
    assert key.kind is KeyKind.PARTNER


@pytest.mark.parametrize("raw", [None, "", "   ", "\n"])
def test_empty_key(raw: str | None) -> None:
    with pytest.raises(UsageError) as info:
        parse_key(raw)
    assert info.value.exit_code == ExitCode.USAGE
    assert "empty" in str(info.value)
    assert "fork" in str(info.value)  # the typical cause on GitHub is named


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (PARTNER[:10] + " " + PARTNER[10:], "whitespace"),
        (PARTNER[:10] + "\n" + PARTNER[10:], "whitespace"),
        (f'"{PARTNER}"', "quote"),
        (f"'{PARTNER}'", "quote"),
        (PARTNER[:10] + "\x07" + PARTNER[10:], "control"),
    ],
)
def test_malformed_key_is_rejected_without_echoing_it(raw: str, what: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_key(raw)
    text = str(info.value)
    assert what in text
    assert PARTNER[5:] not in text
    assert info.value.code == "malformed_key"


def test_wrong_prefix() -> None:
    with pytest.raises(UsageError) as info:
        parse_key("sk_" + PARTNER[3:])
    assert "rp_" in str(info.value) and "rk_" in str(info.value)
    assert PARTNER[3:] not in str(info.value)


def test_app_key_for_login_names_the_right_kind() -> None:
    with pytest.raises(UsageError) as info:
        parse_key(APP, expect=KeyKind.PARTNER)
    text = str(info.value)
    assert "rk_ app key" in text and "rp_ partner key" in text
    assert APP not in text


def test_partner_key_for_token_names_the_right_kind() -> None:
    with pytest.raises(UsageError) as info:
        parse_key(PARTNER, expect=KeyKind.APP)
    assert "rk_ app key" in str(info.value)
    assert "reactor-ci login" in str(info.value)


@pytest.mark.parametrize("prefix", ["rk_live_", "rk_test_", "rk_prod_"])
def test_stripe_restricted_keys_are_refused(prefix: str) -> None:
    raw = prefix + "51HbXqLKj8dFm2NpQr4sTu6vWx8yZa0"
    with pytest.raises(UsageError) as info:
        parse_key(raw)
    assert "Stripe" in str(info.value)
    assert raw not in str(info.value)


def test_key_repr_and_str_are_redacted() -> None:
    key = ApiKey(PARTNER, KeyKind.PARTNER)
    for text in (repr(key), str(key), f"{key}", key.redacted):
        assert PARTNER not in text
        assert text.count(PARTNER[-4:]) == 1


def test_registered_key_is_scrubbed_everywhere() -> None:
    parse_key(PARTNER)
    assert redact.scrub(f"error: {PARTNER} failed") == f"error: rp_…{PARTNER[-4:]} failed"


def test_scrub_catches_unregistered_key_and_jwt_shapes() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
    text = f"<html>bad key {APP} token {jwt}</html>"
    scrubbed = redact.scrub(text)
    assert APP not in scrubbed and jwt not in scrubbed
    assert "<html>bad key rk_…" in scrubbed


def test_listener_masks_known_and_new_secrets() -> None:
    seen: list[str] = []
    redact.register("first-secret-value")
    redact.add_listener(seen.append)
    redact.register("multi\nline-secret-value")
    assert "first-secret-value" in seen
    assert "line-secret-value" in seen  # each line of a multi-line value is masked too
    encoded = redact.register_basic_auth("org", "registry-token-123")
    assert encoded in seen and "registry-token-123" in seen


def test_the_key_body_without_its_prefix_is_redacted_and_masked() -> None:
    """Servers echo the key's body without `rp_` (9.5): scrub and the CI mask cover that form too."""
    masked: list[str] = []
    redact.add_listener(masked.append)
    key = parse_key("rp_bodycanary_0123456789abcdef")
    body = key.secret[3:]
    assert body in masked and key.secret in masked
    echoed = f"unknown key {body}; hint: {body[:-1]}X"
    assert body not in redact.scrub(echoed)
    short = parse_key("rk_abc")  # a body under the masking minimum is not registered on its own
    assert short.secret[3:] not in redact.registered()
