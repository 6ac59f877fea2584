"""Reactor API keys: kinds, validation, and a value type that never prints itself.

Length and alphabet after the prefix are not documented, so a key is opaque:
we check the prefix, strip surrounding whitespace (the classic CI-secret paste
error: a trailing newline), and reject what can only be a paste accident --
inner whitespace, quotes, control characters.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from reactor_ci import redact
from reactor_ci.errors import UsageError

PARTNER_PREFIX = "rp_"
APP_PREFIX = "rk_"
# Stripe restricted keys share the rk_ prefix; they are never Reactor keys, and
# sending one to a third party's API would leak it, so we refuse them.
STRIPE_PREFIXES = ("rk_live_", "rk_test_", "rk_prod_")

ENV_VAR = "REACTOR_API_KEY"


class KeyKind(str, enum.Enum):
    PARTNER = "partner"
    APP = "app"

    @property
    def prefix(self) -> str:
        return PARTNER_PREFIX if self is KeyKind.PARTNER else APP_PREFIX

    @property
    def label(self) -> str:
        return f"{self.prefix} {self.value} key"


@dataclass(frozen=True)
class ApiKey:
    """A validated key. ``str()`` and ``repr()`` are redacted; use ``.secret`` to send it."""

    secret: str
    kind: KeyKind

    def __repr__(self) -> str:
        return f"ApiKey({redact.redact(self.secret)}, {self.kind.value})"

    __str__ = __repr__

    @property
    def redacted(self) -> str:
        return redact.redact(self.secret)


def kind_of(value: str) -> KeyKind | None:
    if value.startswith(PARTNER_PREFIX):
        return KeyKind.PARTNER
    if value.startswith(APP_PREFIX):
        return KeyKind.APP
    return None


def parse_key(raw: str | None, *, expect: KeyKind | None = None, source: str = ENV_VAR) -> ApiKey:
    """Validate ``raw`` and return an :class:`ApiKey`; raise :class:`UsageError` naming the fix.

    The key is registered as a secret before any check, so no message below can
    leak it even by accident; messages never include it anyway.
    """
    if raw is None or not raw.strip():
        hint = (
            "set it from your CI's secret store; on GitHub pull requests from forks, "
            "secrets are not available to the workflow"
        )
        raise UsageError(f"{source} is empty or not set", f"{hint}.", code="empty_key")
    value = raw.strip()
    redact.register(value)
    redact.register(raw)
    bad = next((c for c in value if c.isspace() or c in "\"'`" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        what = "whitespace" if bad.isspace() else ("a quote" if bad in "\"'`" else "a control character")
        raise UsageError(
            f"the key in {source} contains {what} inside it",
            "paste the key exactly as the Reactor Dashboard shows it, without quotes or line breaks.",
            code="malformed_key",
        )
    if value.startswith(STRIPE_PREFIXES):
        raise UsageError(
            f"the key in {source} is a Stripe restricted key ({value[:8]}…), not a Reactor key",
            "use a Reactor key from the Reactor Dashboard (partner keys start with rp_, app keys with rk_).",
            code="stripe_key",
        )
    kind = kind_of(value)
    if kind is None or len(value) <= 3:
        raise UsageError(
            f"the key in {source} ({redact.redact(value)}) is not a Reactor key",
            "partner keys start with rp_ and app keys with rk_; copy one from the Reactor Dashboard.",
            code="wrong_prefix",
        )
    if expect is not None and kind is not expect:
        raise UsageError(
            f"{source} holds an {kind.label}, but this command needs an {expect.label}",
            _kind_fix(expect),
            code="wrong_key_type",
        )
    return ApiKey(value, kind)


def _kind_fix(expect: KeyKind) -> str:
    if expect is KeyKind.PARTNER:
        return (
            "registry login needs a partner key (rp_…, Dashboard → partner organisation); "
            "app keys (rk_…) only mint JWTs with `reactor-ci token`."
        )
    return (
        "JWTs are minted from an app key (rk_…, Dashboard → API Keys); "
        "partner keys (rp_…) log in to the registry with `reactor-ci login`."
    )


def key_from_env(*, expect: KeyKind | None = None, env: dict[str, str] | None = None) -> ApiKey:
    environ = os.environ if env is None else env
    return parse_key(environ.get(ENV_VAR), expect=expect, source=ENV_VAR)
