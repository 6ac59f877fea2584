"""``reactor-ci scan --verify``: ask the Reactor API whether each key found still works.

Opt-in, never the default: without ``--verify`` the scanner makes no network
call and never imports this module (nor httpx).

Guarantees, each tested against the emulator in tests/scan/test_verify.py:

- A key goes only to the configured API (``REACTOR_API_URL``, validated by
  :func:`reactor_ci.api.validate_base_url`: https, or plain http on loopback)
  and only in the ``Reactor-API-Key`` header, through :class:`ReactorAPI`.
- Only findings of rules whose table row says ``verify`` (the ``rp_`` and
  ``rk_`` key rules) are checked; a Stripe key, a registry token or a Docker
  login is never sent anywhere (checked twice: the rule, then the prefix).
- One harmless call per distinct key: ``GET /v1/partner`` for a partner key,
  ``POST /tokens`` with a 60 s lifetime for an app key (the JWT is dropped
  unread and dies within a minute).
- At most :data:`MAX_RATE` calls per second, at most :data:`MAX_KEYS` keys,
  no retries, and a total time bound (:data:`TOTAL_SECONDS`) that holds even
  if the server drips its answer: each call runs in a worker thread and is
  abandoned at the deadline. Whatever is not checked by then is ``unknown``.

States: ``live`` (the call succeeded), ``revoked``, ``expired``, ``invalid``
(the API refused the key as such), ``unknown`` (network error, rate limit,
5xx, an odd answer, or the time bound). Error text from the server is never
printed: only the state is kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reactor_ci.errors import ReactorCIError, UsageError
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.rules import rule_by_id

if TYPE_CHECKING:
    import httpx

    from reactor_ci.api import ReactorAPI

__all__ = ["MAX_KEYS", "MAX_RATE", "TOTAL_SECONDS", "Verification", "budget_from_env", "check_key", "verify_findings"]

MAX_RATE = 5.0  # calls per second: a scan of a big history must not look like a credential-stuffing run
MAX_KEYS = 200  # distinct keys; more than this in one repository is a fixture set, not leaks
TOTAL_SECONDS = 60.0
CALL_TIMEOUT = 10.0
APP_TOKEN_SECONDS = 60  # the shortest useful JWT: it expires before anyone could misuse it

# API error code -> state; any other refusal or failure is "unknown".
_STATES = {
    "api_key_revoked": "revoked",
    "api_key_expired": "expired",
    "invalid_api_key": "invalid",
    "wrong_key_type": "invalid",  # an rp_ key the API does not take as a partner key is not one
}


@dataclass
class Verification:
    """What a ``--verify`` run did: the API it asked, and how many distinct keys fell in each state."""

    api_url: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # distinct keys past MAX_KEYS or the time bound (counted as unknown too)

    def summary(self) -> str:
        if not self.counts:
            return f"verified no key against {self.api_url} (no Reactor key among the findings)"
        states = ", ".join(f"{n} {state}" for state, n in sorted(self.counts.items()))
        late = f" ({self.skipped} not checked: key or time limit reached)" if self.skipped else ""
        return f"verified {sum(self.counts.values())} distinct key(s) against {self.api_url}: {states}{late}"


def check_key(api: ReactorAPI, secret: str, kind: str) -> str:
    """One harmless call with ``secret``; returns its state. Never raises for an API answer."""
    from reactor_ci.keys import KeyKind, parse_key

    expect = KeyKind.PARTNER if kind == "partner" else KeyKind.APP
    try:
        key = parse_key(secret, expect=expect, source="the scanned file")
    except UsageError:
        return "invalid"  # not key-shaped after all (or a Stripe key): nothing is sent
    try:
        if expect is KeyKind.PARTNER:
            api.get_partner(key)
        else:
            api.create_app_token(key, APP_TOKEN_SECONDS)
    except ReactorCIError as exc:
        return _STATES.get(exc.code or "", "unknown")
    return "live"


def _call_with_deadline(fn: Callable[[], str], seconds: float) -> str:
    """``fn()`` in a daemon thread, abandoned after ``seconds``: a dripping server cannot hold the scan."""
    result: list[str] = []

    def run() -> None:
        try:
            result.append(fn())
        except Exception:  # an unexpected client error must not kill the scan: the key stays unknown
            result.append("unknown")

    worker = threading.Thread(target=run, name="reactor-ci-verify", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    return result[0] if result else "unknown"


def _candidates(findings: Sequence[Finding]) -> dict[str, str]:
    """Distinct secrets to check -> key kind, in order of first appearance."""
    from reactor_ci.keys import STRIPE_PREFIXES

    out: dict[str, str] = {}
    for f in findings:
        rule = rule_by_id(f.rule)
        kind = rule.verify if rule else None
        if kind is None or f.secret.startswith(STRIPE_PREFIXES):
            continue
        out.setdefault(f.secret, kind)
    return out


def verify_findings(
    findings: Sequence[Finding],
    *,
    api_url: str | None = None,
    rate: float = MAX_RATE,
    total_seconds: float | None = None,
    max_keys: int = MAX_KEYS,
    transport: httpx.BaseTransport | None = None,
) -> Verification:
    """Set :attr:`Finding.verified` on every finding of a Reactor key; return the counts.

    Raises :class:`UsageError` (exit 2) for a bad ``REACTOR_API_URL`` before
    any key is sent, and for a bad ``REACTOR_CI_VERIFY_MAX_SECONDS``.
    """
    from reactor_ci.api import ReactorAPI, api_url_from_env, validate_base_url

    base = validate_base_url(api_url or api_url_from_env())
    if total_seconds is None:
        total_seconds = budget_from_env()
    result = Verification(api_url=base)
    todo = _candidates(findings)
    if not todo:
        return result
    states: dict[str, str] = {}
    deadline = time.monotonic() + total_seconds
    interval = 1.0 / rate if rate > 0 else 0.0
    next_call = time.monotonic()
    timeout = min(CALL_TIMEOUT, total_seconds)
    # No retries: a 429 or 5xx means "unknown", not a reason to call again.
    api = ReactorAPI(base, timeout=timeout, max_attempts=1, retry_budget=0.0, transport=transport)
    try:
        for n, (secret, kind) in enumerate(todo.items()):
            now = time.monotonic()
            if n >= max_keys or now + max(0.0, next_call - now) >= deadline:
                states[secret] = "unknown"
                result.skipped += 1
                continue
            if next_call > now:
                time.sleep(next_call - now)
            next_call = time.monotonic() + interval
            remaining = deadline - time.monotonic()

            def call(secret: str = secret, kind: str = kind) -> str:
                return check_key(api, secret, kind)

            states[secret] = _call_with_deadline(call, remaining)
    finally:
        api.close()
    for f in findings:
        state = states.get(f.secret)
        if state is not None:
            f.verified = state
    for state in states.values():
        result.counts[state] = result.counts.get(state, 0) + 1
    return result


def budget_from_env() -> float:
    """``REACTOR_CI_VERIFY_MAX_SECONDS``: the total time bound, for big histories on slow links."""
    raw = os.environ.get("REACTOR_CI_VERIFY_MAX_SECONDS", "").strip()
    if not raw:
        return TOTAL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 < value <= 3600):
        raise UsageError(
            "REACTOR_CI_VERIFY_MAX_SECONDS must be a number of seconds between 0 and 3600",
            "unset it (default 60) or set e.g. REACTOR_CI_VERIFY_MAX_SECONDS=120",
        )
    return value
