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
``severity``      ``critical``, ``high``, ``medium`` or ``low``: the SARIF ``level`` and
                  GitHub's numeric ``security-severity`` follow from it
                  (:data:`SEVERITY_LEVELS`).
``fix``           what a user should do about a finding of this rule, as data: every
                  output format prints it (text, JSON, SARIF, annotations), with the
                  history and ``--verify`` notes of :func:`remediation` added.
``verify``        the key kind ``scan --verify`` may check against the Reactor API
                  (``partner`` or ``app``), or None: never for a Stripe key, a
                  registry token or a Docker login, which are not Reactor API keys.

Turning a rule off is ``--disable-rule ID`` (``--no-stripe`` for the Stripe
rule); there is no off-by-default rule, so the table has no such flag.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "HISTORY_FIX",
    "RULES",
    "SEVERITY_LEVELS",
    "STOPPED_PUSH_FIX",
    "VERIFIED_NOTES",
    "Rule",
    "history_note",
    "remediation",
    "rule_by_id",
    "rule_ids",
    "scanning_a_push",
]

# Thresholds for Reactor key bodies, justified in docs/scanning.md.
KEY_BODY: dict[str, Any] = {
    "min_len": 20,  # 20 chars of base62 ≈ 119 bits; shorter bodies are identifiers (rp_filter, rp_info)
    "max_len": 512,
    "min_entropy": 2.2,  # bits/char; random 20-char hex never went below 2.45 in 100k draws
    "min_distinct": 6,
}

# severity -> (SARIF level, GitHub security-severity). GitHub buckets the score:
# >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, below that low.
SEVERITY_LEVELS: dict[str, tuple[str, str]] = {
    "critical": ("error", "9.5"),
    "high": ("error", "8.0"),
    "medium": ("warning", "5.5"),
    "low": ("note", "2.0"),
}

# Said of every finding from a history mode (--since/--all-history/--pre-push):
# the fix of the rule still applies, and deleting the commit is not one.
HISTORY_FIX = (
    "this key is in git history: everyone who cloned or forked the repository has it, and rewriting "
    "history (git filter-repo, BFG, a force-push) does not un-leak it; revoke or roll it as said, "
    "then clean history only if you must"
)

# Said instead of HISTORY_FIX when the scan is the pre-push hook's (`--pre-push`): it scans the commits
# this push would send, and stopping the push is exactly what kept the key from leaving the machine.
STOPPED_PUSH_FIX = (
    "this key is in commits this push would have sent; the push was stopped, so it has not reached that "
    "remote: remove it from those commits (git commit --amend, or git rebase -i) before pushing again, and "
    "revoke or roll it as said only if those commits were already pushed elsewhere (another remote, a fork) "
    "or shared some other way"
)
# Set once by the pre-push mode (sources.pre_push_range) for the rest of this process.
_stopped_push = False


def scanning_a_push() -> None:
    """The findings of this process come from the commits a push is about to send (the pre-push hook)."""
    global _stopped_push
    _stopped_push = True


def history_note() -> str:
    """What a finding in a commit adds to the fix: public history, or a push that was stopped."""
    return STOPPED_PUSH_FIX if _stopped_push else HISTORY_FIX


# What `scan --verify` learnt, said before the rule's fix (keys: finding.VERIFIED_STATES).
VERIFIED_NOTES: dict[str, str] = {
    "live": "VERIFIED LIVE: the Reactor API accepted this key just now: revoke it now",
    "revoked": (
        "the Reactor API reports this key revoked, so the revoke step that follows is done; registry tokens and "
        "JWTs issued before stay valid until they expire: do the rest"
    ),
    "expired": "the Reactor API reports this key expired, so the revoke step that follows is done: do the rest",
    "invalid": (
        "the Reactor API does not accept this key (invalid): a test value, or a key of another "
        "Reactor environment than REACTOR_API_URL; if it is real, revoke it"
    ),
    "unknown": "the key could not be verified (network error or time limit): treat it as live",
}

_PARTNER_FIX = (
    "revoke the key in the Reactor Dashboard now (revocation takes effect within 60 s) and create a new "
    "one; update the CI secret that held it; check the registry pushes made with it, since registry "
    "tokens issued before the revocation stay valid for up to 12 h; then remove it from the file"
)
_APP_FIX = (
    "revoke the key in the Reactor Dashboard and create a new one; JWTs already minted with it stay "
    "valid until their expires_at (up to 6 h), revoking does not end them; update the CI secret, "
    "then remove it from the file"
)
_STRIPE_FIX = (
    "roll the key in the Stripe Dashboard (Developers, API keys) and update what uses it, then remove "
    "it from the file; it is a Stripe key, not a Reactor key: the Reactor Dashboard cannot revoke it"
)
_CREDENTIALS_FIX = (
    "this is a copy of ~/.reactor/credentials: run `reactor-ci logout` (or delete the file) and never "
    "commit it; revoke the partner key it holds in the Reactor Dashboard and log in again with a new "
    "one; the registry token in it stays valid until its registry_token_expiry (up to 12 h)"
)
_DOCKER_FIX = (
    "this Docker config.json holds a Reactor registry login: run `docker logout registry.reactor.inc` "
    "and never commit it; revoke the partner key that minted the token (the token itself stays valid "
    "until it expires, up to 12 h); use the credential helper (docker-credential-reactor) instead "
    "of a stored auth"
)


class Rule:
    """One row of the table (a plain class: dataclasses cost ~7 ms to import)."""

    __slots__ = (
        "allow", "boundary", "description", "fix", "id", "json_document", "keywords", "params", "regex",
        "requires", "severity", "validator", "verify",
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
        severity: str,
        fix: str,
        verify: str | None = None,
        json_document: bool = False,
    ) -> None:
        if severity not in SEVERITY_LEVELS:
            raise ValueError(f"rule {id}: severity {severity!r} is not one of {sorted(SEVERITY_LEVELS)}")
        if verify not in (None, "partner", "app"):
            raise ValueError(f"rule {id}: verify {verify!r} is not partner, app or None")
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
        self.verify = verify
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
        severity="critical",  # registry pushes, model management, weight storage
        fix=_PARTNER_FIX,
        verify="partner",
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
        severity="high",  # mints JWTs for the app; no registry or model access
        fix=_APP_FIX,
        verify="app",
    ),
    Rule(
        id="stripe-restricted-key",
        description="Stripe restricted key (rk_live_/rk_test_/rk_prod_), not a Reactor key",
        regex=r"(?P<secret>rk_(?:live|test|prod)_(?P<body>[A-Za-z0-9]{10,}))",
        keywords=("rk_live_", "rk_test_", "rk_prod_"),
        boundary=True,
        validator="stripe_body",
        params={"min_len": 10, "min_distinct": 6},
        severity="high",
        fix=_STRIPE_FIX,
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
        severity="critical",  # the partner key and a registry token together
        fix=_CREDENTIALS_FIX,
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
        severity="high",  # a registry token: push/pull for up to 12 h, not the key
        fix=_DOCKER_FIX,
    ),
)


def rule_ids() -> tuple[str, ...]:
    return tuple(rule.id for rule in RULES)


def rule_by_id(rule_id: str) -> Rule | None:
    return next((rule for rule in RULES if rule.id == rule_id), None)


def remediation(rule_id: str, *, history: bool = False, verified: str | None = None) -> str:
    """The advice for one finding: the ``--verify`` note, the rule's fix, the history note.

    One sentence per part, joined with ``". "``: every output format prints
    this same text, so a user reads the same advice in a log, a JSON report
    and a code-scanning alert.
    """
    rule = rule_by_id(rule_id)
    parts = []
    if verified:
        parts.append(VERIFIED_NOTES.get(verified, VERIFIED_NOTES["unknown"]))
    parts.append(rule.fix if rule else "remove the secret from the file and revoke or roll it where it was issued")
    if history:
        parts.append(history_note())
    return ". ".join(part[:1].upper() + part[1:] for part in parts) + "."
