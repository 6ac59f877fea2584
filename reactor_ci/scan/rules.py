"""The detection rules, as data (gitleaks style).

The engine (:mod:`reactor_ci.scan.engine`) walks this table; adding a rule of
an existing kind touches no code.  Each rule has:

``id``            stable identifier, used in output, baselines and ``--disable-rule``.
``description``   one line a user sees.
``regex``         a *bytes* regular expression; the named group ``secret`` is
                  the secret (what is redacted and fingerprinted), the optional
                  group ``body`` is what the validator checks.
``keywords``      cheap substring prefilter: the regex only runs on a file that
                  contains at least one of them (all rules' keywords are
                  searched for in one ``re`` pass per file).
``requires``      every one of these must also occur in the file (context).
``boundary``      the match must start at a non-word boundary (the byte before
                  is not ``[A-Za-z0-9_]``; ``\\n``-style escapes and ``%XX``
                  URL-encoding count as boundaries).
``validator``     name of a check in :data:`reactor_ci.scan.engine.VALIDATORS`
                  (``key_body``, ``stripe_body``, ``opaque_value``, ``docker_auth``).
``params``        the validator's thresholds (see docs/scanning.md for why).
``allow``         regexes on the secret: a match drops the finding.
``json_document`` the rule applies to files that are JSON documents (first
                  non-blank byte ``{`` or ``[``) -- and to history hunks, which
                  are fragments; this keeps two substring searches off the hot
                  path for every other file.
``fix``           what a user should do about a finding.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RULES", "Rule", "rule_ids"]

# Thresholds for Reactor key bodies, justified in docs/scanning.md.
KEY_BODY: dict[str, Any] = {
    "min_len": 20,  # 20 chars of base62 ≈ 119 bits; shorter bodies are identifiers (rp_filter, rp_info)
    "max_len": 512,
    "min_entropy": 2.2,  # bits/char; random 20-char hex never went below 2.45 in 100k draws
    "min_distinct": 6,
}

_REACTOR_FIX = (
    "revoke the key in the Reactor Dashboard now, create a new one, update your CI secret, "
    "and audit recent activity; then remove it from the file (and from history if it was pushed)"
)


class Rule:
    """One row of the table (a plain class: dataclasses cost ~7 ms to import)."""

    __slots__ = (
        "allow", "boundary", "default_enabled", "description", "fix", "id", "json_document", "keywords", "params",
        "regex", "requires", "severity", "validator",
    )  # fmt: skip

    def __init__(
        self,
        *,
        id: str,
        description: str,
        regex: str,
        keywords: tuple[str, ...],
        validator: str,
        requires: tuple[str, ...] = (),
        boundary: bool = False,
        params: dict[str, Any] | None = None,
        allow: tuple[str, ...] = (),
        severity: str = "error",
        fix: str = _REACTOR_FIX,
        default_enabled: bool = True,
        json_document: bool = False,
    ) -> None:
        self.id = id
        self.description = description
        self.regex = regex
        self.keywords = keywords
        self.validator = validator
        self.requires = requires
        self.boundary = boundary
        self.params = dict(params or {})
        self.allow = allow
        self.severity = severity
        self.fix = fix
        self.default_enabled = default_enabled
        self.json_document = json_document

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"


RULES: tuple[Rule, ...] = (
    Rule(
        id="reactor-partner-key",
        description="Reactor partner API key (rp_)",
        regex=r"(?P<secret>rp_(?P<body>[A-Za-z0-9_-]{20,}))",
        keywords=("rp_",),
        boundary=True,
        validator="key_body",
        params=KEY_BODY,
    ),
    Rule(
        id="reactor-app-key",
        description="Reactor app API key (rk_)",
        # Stripe restricted keys share the prefix: they belong to the rule below.
        regex=r"(?P<secret>rk_(?!(?:live|test|prod)_)(?P<body>[A-Za-z0-9_-]{20,}))",
        keywords=("rk_",),
        boundary=True,
        validator="key_body",
        params=KEY_BODY,
    ),
    Rule(
        id="stripe-restricted-key",
        description="Stripe restricted key (rk_live_/rk_test_/rk_prod_), not a Reactor key",
        regex=r"(?P<secret>rk_(?:live|test|prod)_(?P<body>[A-Za-z0-9]{10,}))",
        keywords=("rk_live_", "rk_test_", "rk_prod_"),
        boundary=True,
        validator="stripe_body",
        params={"min_len": 10, "min_distinct": 6},
        fix="roll the key in the Stripe Dashboard and remove it from the file",
    ),
    Rule(
        id="reactor-credentials-file",
        description="Reactor credentials file (api_key + registry_token)",
        regex=r'"registry_token"\s*:\s*"(?P<secret>[^"\\\s]{8,})"',
        keywords=("registry_token",),
        requires=('"api_key"',),
        json_document=True,
        validator="opaque_value",
        params={"min_len": 8, "min_distinct": 6},
        fix=(
            "this is a copy of ~/.reactor/credentials: never commit it; revoke the partner key it "
            "holds in the Reactor Dashboard and run `reactor-ci login` again"
        ),
    ),
    Rule(
        id="docker-config-reactor-auth",
        description="Docker config.json with a Reactor registry login",
        regex=(r'"(?P<host>[^"\s{}]+)"\s*:\s*\{[^{}]*?"auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/=]{8,})"'),
        keywords=("auths",),
        requires=('"auth"',),
        json_document=True,
        validator="docker_auth",
        params={"hosts": ["registry.reactor.inc", ".reactor.inc"]},
        fix=(
            "this is a Docker config.json with a Reactor registry login: never commit it; run "
            "`docker logout registry.reactor.inc`, revoke the partner key, and use the credential "
            "helper (docker-credential-reactor) instead of a stored auth"
        ),
    ),
)


def rule_ids() -> tuple[str, ...]:
    return tuple(rule.id for rule in RULES)
